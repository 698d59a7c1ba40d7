from pyrep.objects.object import Object

_COUNT = [0]


class Dummy(Object):
    @staticmethod
    def create(size: float = 0.01) -> "Dummy":
        _COUNT[0] += 1
        return Dummy("Dummy%d" % _COUNT[0])
