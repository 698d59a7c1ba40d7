"""Fake PyRep: one 'CoppeliaSim' per process, a world of named objects, step callbacks."""

__version__ = "4.1.0.3"

_STATE = {"running": None, "was_shut_down": False}


class PyRep(object):
    def __init__(self):
        self.running = False
        self._step_callbacks = []

    def launch(self, scene_file: str = "", headless: bool = False,
               responsive_ui: bool = False, blocking: bool = False,
               write_coppeliasim_stdout_to_file: bool = False) -> None:
        if _STATE["running"] is not None:
            raise RuntimeError("CoppeliaSim is already running in this process; PyRep supports "
                               "one instance per process")
        if _STATE["was_shut_down"]:
            raise RuntimeError("CoppeliaSim cannot be relaunched in a process after shutdown")
        _STATE["running"] = self
        from pyrep.objects import object as _obj
        _obj.reset_world()

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def step(self) -> None:
        for cb in list(self._step_callbacks):
            cb()

    def register_step_callback(self, cb) -> None:
        self._step_callbacks.append(cb)

    def get_objects_in_tree(self, root_object=None, *args, **kwargs):
        return []

    def shutdown(self) -> None:
        if _STATE["running"] is self:
            _STATE["running"] = None
            _STATE["was_shut_down"] = True
