"""File transfers: offers, the peer protocol, safe receiving and resume."""
