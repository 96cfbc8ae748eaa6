"""The synthetic programme's share held by referral-api: the fifteen NGOs' directory
entries and the referrals between the demo's referrers and NGOs (`seed-demo`)."""
