"""gunicorn's access log without the secrets that addresses carry (gunicorn.conf.py's
`logger_class`): the query string is left out (reset and verification links put their token
there) and the pay pages' keys in paths are masked, in the request line, the path and the
referrer alike."""

from gunicorn.glogging import Logger

from .redaction import address_redacted


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = address_redacted(environ.get("RAW_URI") or atoms["U"] or "")
        atoms.update(
            r=f"{atoms['m']} {path} {atoms['H']}",
            U=address_redacted(atoms["U"] or ""),
            q="",
            f=address_redacted(atoms["f"]),
        )
        atoms.update(
            {key: address_redacted(value) for key, value in atoms.items() if key == "{referer}i"}
        )
        return atoms
