from baton.errors import BatonError


class InvalidStatisticsRequest(BatonError):
    code = "invalid-statistics-request"
    status = 422
    title = "These statistics cannot be asked for"
