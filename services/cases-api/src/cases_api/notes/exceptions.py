from baton.errors import NotFound


class NoteNotFound(NotFound):
    code = "note-not-found"
    title = "Note not found"
