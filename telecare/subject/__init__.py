"""A person's data as one thing (issue 12): everything held about them (``export``, a subject access
request) and its removal (``erase``, an erasure request). Both find the person the same way
(``find``: a resident by id, or anyone by phone number). Nothing in ``telecare`` imports this
package: it reads every other one."""
