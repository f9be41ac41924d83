"""One AWS call, its failures mapped to a plain sentence (the one place for that mapping).

Used by the S3 raw archive and the dashboard restart. Credentials are never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nba_elt.errors import ExternalError

# Codes that mean: these credentials may not do this (or are not credentials at all).
CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "ExpiredToken",
        "AccessDeniedException",
        "AccessDenied",
    }
)
NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
)


def aws_call(
    what: str,
    call: Callable[..., Any],
    *,
    where: str,
    permissions: str,
    error: type[ExternalError] = ExternalError,
    on_code: Mapping[str, Callable[[str], Any]] | None = None,
    **kwargs: Any,
) -> Any:
    """`call(**kwargs)`; AWS failures raise `error` saying what failed and what to check.

    `on_code` maps an error code to a handler that gets the AWS message and returns a value
    (e.g. None for a missing S3 key) or raises its own error.
    """
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        return call(**kwargs)
    except NoCredentialsError:
        raise error(NO_CREDENTIALS) from None
    except ClientError as exc:
        error_info = exc.response.get("Error", {})
        code, message = str(error_info.get("Code", "")), str(error_info.get("Message", ""))
        if on_code and code in on_code:
            return on_code[code](message)
        if code in CREDENTIAL_CODES:
            raise error(
                f"AWS rejected the request to {what} ({code}): check the credentials and "
                f"their permissions ({permissions})"
            ) from None
        raise error(f"AWS call {what} failed for {where}: {code} {message}".rstrip()) from None
    except BotoCoreError as exc:
        raise error(f"AWS call {what} failed for {where}: {type(exc).__name__}: {exc}") from None
