"""Fetch the service's secrets from SSM Parameter Store at boot (aws), before it starts.

The launch template's user data writes /etc/bakery/secrets.json ({"region": ...,
"parameters": {NAME: parameter name}}) next to /etc/bakery/app.env; this reads the
parameters with the instance profile's credentials (IMDSv2) in one signed
GetParameters call, decrypted, and adds NAME="value" lines to app.env, which systemd
reads for the service's unit. Standard library only: the image carries no AWS SDK.
A value is never printed; a parameter that does not exist or cannot be read is named.

With a database, secrets.json also holds {"database": {"variable": "DATABASE_URL",
"parameter": "/aws/reference/secretsmanager/rds!db-...", "host", "port", "name"}}: the
RDS-managed master secret ({"username", "password"} as JSON), read in the same call by
its Parameter Store reference name, becomes
DATABASE_URL=postgresql://USER:PASSWORD@HOST:PORT/NAME?sslmode=require (RDS for
PostgreSQL 15 and later refuses unencrypted connections by default).

Run as root by bakery-secrets.service: python3 -m bakery_launcher.secrets
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path

SECRETS_FILE = Path("/etc/bakery/secrets.json")
ENV_FILE = Path("/etc/bakery/app.env")
IMDS_URL = "http://169.254.169.254"
TIMEOUT_S = 10


class SecretsError(RuntimeError):
    """The secrets could not be fetched; the message names what and why, never a value."""


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, str],
    region: str,
    service: str,
    now: datetime.datetime,
) -> dict[str, str]:
    """Signature Version 4: the headers to add (X-Amz-Date, the token, Authorization)."""
    parsed = urllib.parse.urlparse(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed["host"] = parsed.netloc
    signed["x-amz-date"] = amz_date
    if credentials.get("Token"):
        signed["x-amz-security-token"] = credentials["Token"]
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            parsed.path or "/",
            parsed.query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{credentials['SecretAccessKey']}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    added = {"X-Amz-Date": amz_date}
    if credentials.get("Token"):
        added["X-Amz-Security-Token"] = credentials["Token"]
    added["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials['AccessKeyId']}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return added


def _open(request: urllib.request.Request, what: str) -> bytes:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (fixed URLs)
            return response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:300]
        raise SecretsError(f"{what}: HTTP {error.code} {detail}") from None
    except OSError as error:
        raise SecretsError(f"{what}: {error}") from None


def instance_credentials(imds_url: str) -> dict[str, str]:
    """The instance profile's temporary credentials, through IMDSv2 (a session token first)."""
    token = _open(
        urllib.request.Request(
            f"{imds_url}/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
        ),
        "the instance metadata token",
    ).decode()
    base = f"{imds_url}/latest/meta-data/iam/security-credentials/"
    headers = {"X-aws-ec2-metadata-token": token}
    role = _open(urllib.request.Request(base, headers=headers), "the instance profile's role").decode().split()[0]
    return json.loads(_open(urllib.request.Request(base + role, headers=headers), f"the credentials of role {role}"))


def get_parameters(names: list[str], region: str, credentials: Mapping[str, str], ssm_url: str) -> dict[str, str]:
    """Parameter name → decrypted value, for every name, or a SecretsError naming the missing ones."""
    body = json.dumps({"Names": names, "WithDecryption": True}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameters"}
    now = datetime.datetime.now(datetime.timezone.utc)
    headers.update(sign("POST", ssm_url, headers, body, credentials, region, "ssm", now))
    answer = json.loads(
        _open(urllib.request.Request(ssm_url, data=body, method="POST", headers=headers), "SSM GetParameters")
    )
    missing = answer.get("InvalidParameters") or []
    if missing:
        raise SecretsError(f"these SSM parameters do not exist or cannot be read: {', '.join(sorted(missing))}")
    return {parameter["Name"]: parameter["Value"] for parameter in answer.get("Parameters", [])}


def env_line(name: str, value: str) -> str:
    """One EnvironmentFile line, quoted as systemd reads it (and as the user data writes env)."""
    if any(c in value for c in "\n\r\0"):
        raise SecretsError(f"the value of {name} holds a newline: a setting is one line")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"\n'


def merge_env_file(env_file: Path, secrets: Mapping[str, str]) -> None:
    """Rewrites env_file (root-only) with the secrets replacing any earlier lines of theirs."""
    kept = []
    if env_file.exists():
        kept = [line for line in env_file.read_text().splitlines(True) if line.split("=", 1)[0] not in secrets]
    text = "".join(kept) + "".join(env_line(name, value) for name, value in secrets.items())
    env_file.parent.mkdir(parents=True, exist_ok=True)
    handle, draft = tempfile.mkstemp(dir=env_file.parent, prefix=".app.env.")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(draft, env_file)
    except BaseException:
        Path(draft).unlink(missing_ok=True)
        raise


def database_url(database: Mapping[str, object], secret: str) -> str:
    """DATABASE_URL from the master secret's JSON and where the database listens; the error never holds the secret."""
    try:
        credentials = json.loads(secret)
        user, password = credentials["username"], credentials["password"]
    except (ValueError, TypeError, KeyError):
        raise SecretsError(
            f"the database secret {database['parameter']} is not JSON with username and password"
        ) from None
    if not isinstance(user, str) or not isinstance(password, str):
        raise SecretsError(f"the database secret {database['parameter']} is not JSON with username and password")
    quote = urllib.parse.quote
    return (
        f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}"
        f"@{database['host']}:{int(database['port'])}/{quote(str(database['name']), safe='')}?sslmode=require"
    )


def fetch(secrets_file: Path, env_file: Path, environ: Mapping[str, str]) -> list[str]:
    """Fetches what secrets_file names into env_file; returns the variable names written."""
    spec = json.loads(secrets_file.read_text())
    region = spec["region"]
    wanted: dict[str, str] = spec["parameters"]
    database: Mapping[str, object] | None = spec.get("database")
    names = set(wanted.values())
    if database:
        names.add(str(database["parameter"]))
    imds_url = environ.get("BAKERY_IMDS_URL", IMDS_URL)
    ssm_url = environ.get("BAKERY_SSM_URL", f"https://ssm.{region}.amazonaws.com/")
    credentials = instance_credentials(imds_url)
    values = get_parameters(sorted(names), region, credentials, ssm_url)
    settings = {name: values[parameter] for name, parameter in wanted.items()}
    if database:
        settings[str(database["variable"])] = database_url(database, values[str(database["parameter"])])
    merge_env_file(env_file, settings)
    return sorted(settings)


def main() -> int:
    secrets_file = Path(os.environ.get("BAKERY_SECRETS_FILE", SECRETS_FILE))
    env_file = Path(os.environ.get("BAKERY_ENV_FILE", ENV_FILE))
    if not secrets_file.exists():
        return 0
    try:
        names = fetch(secrets_file, env_file, os.environ)
    except (SecretsError, KeyError, ValueError) as error:
        print(f"bakery-secrets: {error}", file=sys.stderr)
        return 1
    print(f"bakery-secrets: wrote {', '.join(names)} to {env_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
