from apps.sync.redaction import MAX_BODY_CHARS, for_log, redact_url


def test_json_secrets_redacted_structurally():
    text = for_log({"access_token": "T0K3N", "nested": {"client_secret": "S3CR3T",
                    "postal_code": "123"}, "items": [{"password": "PW0RD"}], "errorCode": "X"})
    assert "T0K3N" not in text and "S3CR3T" not in text and "PW0RD" not in text
    assert "123" in text and "errorCode" in text


def test_form_bodies_and_urls():
    text = for_log("grant_type=refresh_token&refresh_token=r1&client_secret=cs")
    assert "r1" not in text and "cs" not in text and "grant_type=refresh_token" in text
    assert "abc" not in redact_url("https://x/y?access_token=abc&email=a@b.c")


def test_xmlrpc_key_and_soap_password():
    xml = ("<?xml version='1.0'?><methodCall><methodName>DataService.add</methodName><params>"
           "<param><value><string>KEY123</string></value></param></params></methodCall>")
    assert "KEY123" not in for_log(xml)
    soap = "<n1:username>u</n1:username><n1:password>hunter2TOKEN</n1:password>"
    assert "hunter2" not in for_log(soap)


def test_truncation():
    assert len(for_log("x" * (MAX_BODY_CHARS * 2))) < MAX_BODY_CHARS + 100
