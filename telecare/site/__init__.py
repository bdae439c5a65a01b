"""The site: contacts, teams and rotas, policies, residents, homes and devices."""
