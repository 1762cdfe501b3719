class ApplicationError(Exception):
    """A business rule refused an action; `field` names the input it is about, when there is one."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
