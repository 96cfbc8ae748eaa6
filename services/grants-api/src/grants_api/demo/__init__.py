"""The synthetic programme's share held by grants-api: the foundation's programme, its
grants to the fifteen NGOs with their money flows and reports, and the NGOs' funding
mix year by year (`seed-demo`)."""
