class PyRepError(Exception):
    pass


class WrongObjectTypeError(Exception):
    pass


class ConfigurationError(Exception):
    pass


class ConfigurationPathError(Exception):
    pass


class GripperError(Exception):
    pass


class IKError(Exception):
    pass
