"""The directory of services the helpline signposts to, and the council it serves."""
