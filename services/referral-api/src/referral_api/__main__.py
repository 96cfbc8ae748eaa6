from baton.server import main
from referral_api.commands import COMMANDS
from referral_api.config import ReferralSettings
from referral_api.main import SERVICE, create_app

if __name__ == "__main__":
    main(SERVICE, ReferralSettings, create_app, extra_commands=COMMANDS)
