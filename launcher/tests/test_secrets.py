"""bakery_launcher.secrets against AWS's Signature V4 test vector and a fake IMDS + SSM on loopback."""

import datetime
import json
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bakery_launcher import secrets

EXAMPLE = {"AccessKeyId": "AKIDEXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}


def test_signature_matches_the_aws_sigv4_test_suite_get_vanilla():
    added = secrets.sign(
        "GET",
        "https://example.amazonaws.com/",
        {},
        b"",
        EXAMPLE,
        "us-east-1",
        "service",
        datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc),
    )
    assert added["X-Amz-Date"] == "20150830T123600Z"
    assert added["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


class FakeAws(BaseHTTPRequestHandler):
    """IMDSv2 and SSM GetParameters, as much as the fetcher uses."""

    parameters: dict = {}
    seen: list = []

    def log_message(self, *args):
        pass

    def _send(self, status, body, kind="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        assert self.path == "/latest/api/token"
        self._send(200, "imds-token")

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != "imds-token":
            return self._send(401, "no token")
        if self.path == "/latest/meta-data/iam/security-credentials/":
            return self._send(200, "shop-role")
        if self.path == "/latest/meta-data/iam/security-credentials/shop-role":
            return self._send(200, json.dumps({**EXAMPLE, "Token": "session-token"}))
        return self._send(404, "")

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeAws.seen.append({"headers": dict(self.headers), "body": body})
        found = [{"Name": n, "Value": FakeAws.parameters[n]} for n in body["Names"] if n in FakeAws.parameters]
        invalid = [n for n in body["Names"] if n not in FakeAws.parameters]
        self._send(
            200,
            json.dumps({"Parameters": found, "InvalidParameters": invalid}),
            "application/x-amz-json-1.1",
        )


@pytest.fixture
def fake_aws():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAws)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeAws.seen = []
    url = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"BAKERY_IMDS_URL": url, "BAKERY_SSM_URL": f"{url}/"}
    server.shutdown()
    server.server_close()


def test_fetch_adds_the_secrets_to_the_env_file_root_only_keeping_the_plain_settings(tmp_path, fake_aws):
    FakeAws.parameters = {"/shop/prod/api-token": 'tok"en\\1', "shop-db-url": "postgres://db/shop"}
    (tmp_path / "secrets.json").write_text(
        json.dumps({"region": "eu-west-1", "parameters": {"API_TOKEN": "/shop/prod/api-token", "DB_URL": "shop-db-url"}})
    )
    env_file = tmp_path / "app.env"
    env_file.write_text('GREETING_STYLE="formal"\nAPI_TOKEN="stale"\n')

    assert secrets.fetch(tmp_path / "secrets.json", env_file, fake_aws) == ["API_TOKEN", "DB_URL"]
    assert env_file.read_text() == (
        'GREETING_STYLE="formal"\nAPI_TOKEN="tok\\"en\\\\1"\nDB_URL="postgres://db/shop"\n'
    )
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    [call] = FakeAws.seen
    assert call["body"] == {"Names": ["/shop/prod/api-token", "shop-db-url"], "WithDecryption": True}
    assert call["headers"]["X-Amz-Target"] == "AmazonSSM.GetParameters"
    assert call["headers"]["X-Amz-Security-Token"] == "session-token"
    assert call["headers"]["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
    ) and "/eu-west-1/ssm/aws4_request" in call["headers"]["Authorization"]

    # A second boot (a reboot) replaces the lines instead of adding them again.
    secrets.fetch(tmp_path / "secrets.json", env_file, fake_aws)
    assert env_file.read_text().count("API_TOKEN=") == 1


def test_a_missing_parameter_is_named_and_nothing_is_written(tmp_path, fake_aws):
    FakeAws.parameters = {"present": "s3cr3t-value"}
    (tmp_path / "secrets.json").write_text(
        json.dumps({"region": "eu-west-1", "parameters": {"A": "present", "B": "/not/there"}})
    )
    env_file = tmp_path / "app.env"
    with pytest.raises(secrets.SecretsError, match="do not exist or cannot be read: /not/there") as error:
        secrets.fetch(tmp_path / "secrets.json", env_file, fake_aws)
    assert "s3cr3t-value" not in str(error.value)
    assert not env_file.exists()


def test_no_secrets_file_is_nothing_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("BAKERY_SECRETS_FILE", str(tmp_path / "absent.json"))
    monkeypatch.setenv("BAKERY_ENV_FILE", str(tmp_path / "app.env"))
    assert secrets.main() == 0
    assert not (tmp_path / "app.env").exists()


DATABASE = {
    "variable": "DATABASE_URL",
    "parameter": "/aws/reference/secretsmanager/rds!db-0a1b",
    "host": "shop-prod.abc.eu-west-1.rds.amazonaws.com",
    "port": 5432,
    "name": "shop",
}


def test_the_database_master_secret_becomes_database_url_in_the_same_call(tmp_path, fake_aws):
    FakeAws.parameters = {
        "/shop/prod/api-token": "token",
        DATABASE["parameter"]: json.dumps({"username": "bakery", "password": "p@ss:w/rd%"}),
    }
    (tmp_path / "secrets.json").write_text(
        json.dumps({"region": "eu-west-1", "parameters": {"API_TOKEN": "/shop/prod/api-token"}, "database": DATABASE})
    )
    env_file = tmp_path / "app.env"
    env_file.write_text('APP_PUBLIC_HOST="shop.example"\n')

    assert secrets.fetch(tmp_path / "secrets.json", env_file, fake_aws) == ["API_TOKEN", "DATABASE_URL"]
    assert env_file.read_text() == (
        'APP_PUBLIC_HOST="shop.example"\nAPI_TOKEN="token"\n'
        'DATABASE_URL="postgresql://bakery:p%40ss%3Aw%2Frd%25@shop-prod.abc.eu-west-1.rds.amazonaws.com:5432/shop'
        '?sslmode=require"\n'
    )
    [call] = FakeAws.seen
    assert call["body"]["Names"] == [DATABASE["parameter"], "/shop/prod/api-token"]


def test_a_database_without_other_secrets_still_writes_database_url(tmp_path, fake_aws):
    FakeAws.parameters = {DATABASE["parameter"]: json.dumps({"username": "bakery", "password": "pw"})}
    (tmp_path / "secrets.json").write_text(json.dumps({"region": "eu-west-1", "parameters": {}, "database": DATABASE}))
    env_file = tmp_path / "app.env"
    assert secrets.fetch(tmp_path / "secrets.json", env_file, fake_aws) == ["DATABASE_URL"]
    assert "postgresql://bakery:pw@" in env_file.read_text()


def test_a_database_secret_that_is_not_the_rds_json_is_named_without_its_value(tmp_path, fake_aws):
    FakeAws.parameters = {DATABASE["parameter"]: "plain-s3cr3t"}
    (tmp_path / "secrets.json").write_text(
        json.dumps({"region": "eu-west-1", "parameters": {}, "database": DATABASE, "unused": None})
    )
    env_file = tmp_path / "app.env"
    with pytest.raises(secrets.SecretsError, match="rds!db-0a1b is not JSON with username and password") as error:
        secrets.fetch(tmp_path / "secrets.json", env_file, fake_aws)
    assert "plain-s3cr3t" not in str(error.value)
    assert not env_file.exists()


def test_a_null_database_is_no_database(tmp_path, fake_aws):
    FakeAws.parameters = {"/a": "1"}
    (tmp_path / "secrets.json").write_text(json.dumps({"region": "eu-west-1", "parameters": {"A": "/a"}, "database": None}))
    assert secrets.fetch(tmp_path / "secrets.json", tmp_path / "app.env", fake_aws) == ["A"]
