"""Keep secrets out of logs.

Requests are logged by route pattern (see middleware.RequestLogMiddleware), so a token in a
path never reaches a log line. This filter is the second belt: it masks the secret part of any
path under the routes that carry tokens, and any `password=`-like pair, in every record.
"""

import logging
import re

SECRET_PATHS = re.compile(r"(/(?:mot-de-passe/reinitialiser|invitation|rejoindre/code)/)([^\s\"'?#]+)")
ROUTE_PARAMETER = re.compile(r"<\w+(?::\w+)?>")
SECRET_PAIRS = re.compile(
    r"((?:password|passwd|secret|token|code|sessionid|csrftoken)\w*=)[^&;\s\"']+", re.IGNORECASE
)


def _mask_path(match: re.Match[str]) -> str:
    """Every segment after the prefix is masked, except a route pattern's `<parameter>`: the
    request log names the route, and that must stay readable."""
    segments = match.group(2).split("/")
    return match.group(1) + "/".join(
        s if not s or ROUTE_PARAMETER.fullmatch(s) else "[masqué]" for s in segments
    )


def redact(text: str) -> str:
    return SECRET_PAIRS.sub(r"\1[masqué]", SECRET_PATHS.sub(_mask_path, text))


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
