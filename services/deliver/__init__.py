"""deliver: POSTs each release of the public aggregate tables to the organisations' webhook endpoints."""
