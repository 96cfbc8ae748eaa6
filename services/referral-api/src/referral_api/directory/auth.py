"""Who may read and keep directory entries: the typed permission aliases the routers use."""

from __future__ import annotations

from typing import Annotated

from baton.auth import Principal
from baton.authz import Authorize, Permission

DirectoryReader = Annotated[Principal, Authorize(Permission.directory_read)]
# Whose entry it is, the service layer checks (403 `not-your-directory-entry`).
DirectoryKeeper = Annotated[Principal, Authorize(Permission.directory_manage)]
