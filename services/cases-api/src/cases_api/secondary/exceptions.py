from baton.errors import NotFound


class FamilyMemberNotFound(NotFound):
    code = "family-member-not-found"
    title = "Family member not found"
