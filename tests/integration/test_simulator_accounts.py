#!/usr/bin/env python3
"""test_simulator_accounts: what the simulator and the STS fake answer for --check-aws and a role per farm: operations
denied by IAM, farms in several accounts that accept only their own account's keys, and STS AssumeRole /
GetCallerIdentity (botocore's client, signed and parsed by botocore) handing out the keys of a role's account; the
simulator's own STS GetCallerIdentity (for the demo) and the exporter's account_id from it."""

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import fake_aws
import harness

try:
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover
    botocore = None

ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"
HOME = fake_aws.HOME_ACCOUNT
HOME_USER = fake_aws.HOME_PRINCIPAL
ROLE_B = "arn:aws:iam::%s:role/deadline-exporter" % ACCOUNT_B
ROLE_A = "arn:aws:iam::%s:role/deadline-exporter" % ACCOUNT_A
SESSION = "deadline-cloud-exporter"
STS_REGION = "eu-west-1"  # a farm's region: its regional STS endpoint signs for it


def denied_message(principal, action, resource, policy):
    return ("User: %s is not authorized to perform: %s on resource: %s because no %s-based policy allows the %s "
            "action" % (principal, action, resource, policy, action))


def farm_arn(farm_id, account):
    return "arn:aws:deadline:%s:%s:farm/%s" % (harness.REGION, account, farm_id)


def error_of(r):
    """(status, error name, message) of a Deadline Cloud answer."""
    body = json.loads(r.body) if r.body else {}
    return r.status, (r.header("x-amzn-ErrorType") or "").split(":")[0], body.get("message")


def get_farm(client, farm_id):
    return client.deadline(farm_id)[0]


def describe_user(client, store, user):
    body = json.dumps({"IdentityStoreId": store, "UserId": user}).encode()
    return client.send("POST", "/", body, {"X-Amz-Target": "AWSIdentityStore.DescribeUser",
                                           "Content-Type": "application/x-amz-json-1.1"}, service="identitystore")


def post(sim, path, payload):
    return harness.http_request(sim.port, "POST", path, json.dumps(payload).encode(),
                                {"Content-Type": "application/json"}, context=sim.context)


# ---- operations denied by IAM ----

def check_deny(t, workdir):
    sim = harness.Simulator(workdir, "--deny-operations", "ListBudgets,GetBudget", "--farm-region", "1=eu-west-1",
                            "--quiet", name="deny")
    c = harness.SignedClient(sim)
    inv = sim._json("GET", "/__sim/inventory")
    f0, f1 = inv["farms"][0]["farmId"], inv["farms"][1]["farmId"]
    budget = inv["farms"][0]["budgets"][0]["budgetId"]
    for path, op in ((f0 + "/budgets", "ListBudgets"), (f0 + "/budgets/" + budget, "GetBudget")):
        got = error_of(c.deadline(path)[0])
        t.check(got == (403, "AccessDeniedException", denied_message(HOME_USER, "deadline:" + op,
                                                                     farm_arn(f0, HOME), "identity")),
                "--deny-operations: %s is 403 AccessDeniedException naming deadline:%s" % (op, op), got)
    allowed = [get_farm(c, f0).status, c.deadline(f0 + "/queues")[0].status, c.deadline(f0 + "/fleets")[0].status]
    epoch = sim._json("GET", "/__sim/farms")["dataEpoch"]
    rows = c.aggregate(f0, {"resourceIds": {"queueIds": [inv["farms"][0]["queues"][0]["queueId"]]},
                            "startTime": "2001-01-01T00:00:00Z",
                            "endTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch + 60)),
                            "groupBy": ["USAGE_TYPE"], "statistics": ["SUM"]})
    t.check(allowed == [200, 200, 200] and rows, "the other operations answer as usual", allowed)

    # at run time, per farm: replaced, not added to
    d = post(sim, "/__sim/deny", {"operations": ["GetFarm"], "farmId": f1})
    t.check(d.status == 200 and json.loads(d.body)["farms"][f1] == ["GetFarm"], "POST /__sim/deny for one farm",
            d.body[:300])
    c1 = harness.SignedClient(sim, region="eu-west-1")  # farm 1 lives there
    got = error_of(get_farm(c1, f1))
    t.check(got == (403, "AccessDeniedException", denied_message(
        HOME_USER, "deadline:GetFarm", "arn:aws:deadline:eu-west-1:%s:farm/%s" % (HOME, f1), "identity"))
            and get_farm(c, f0).status == 200, "GetFarm denied on that farm only (its ARN in its region)", got)
    post(sim, "/__sim/deny", {"operations": ["ListLicenseEndpoints"]})
    got = error_of(c.send("GET", "/2023-10-12/license-endpoints"))
    t.check(got == (403, "AccessDeniedException", denied_message(HOME_USER, "deadline:ListLicenseEndpoints", "*",
                                                                 "identity")),
            "an account-wide operation denied too (resource *)", got)
    post(sim, "/__sim/deny", {"operations": []})
    post(sim, "/__sim/deny", {"operations": [], "farmId": f1})
    t.check(c.deadline(f0 + "/budgets")[0].status == 200 and get_farm(c1, f1).status == 200 and
            c.send("GET", "/2023-10-12/license-endpoints").status == 200, "an empty list allows them again")
    post(sim, "/__sim/deny", {"operations": ["DescribeUser"]})
    user = [u for u in inv["users"] if u["exists"]][0]["userId"]
    r = describe_user(harness.SignedClient(sim), inv["identityStoreId"], user)
    body = json.loads(r.body)
    t.check(r.status == 403 and body.get("__type") == "AccessDeniedException" and body.get("message") ==
            denied_message(HOME_USER, "identitystore:DescribeUser", "arn:aws:identitystore::%s:identitystore/%s"
                           % (HOME, inv["identityStoreId"]), "identity") and
            r.header("content-type") == "application/x-amz-json-1.1",
            "DescribeUser denied: a JSON 1.1 AccessDeniedException naming identitystore:DescribeUser", body)
    for payload, status in (({"operations": ["Bogus"]}, 400), ({"operations": "GetFarm"}, 400),
                            ({"operations": [], "farmId": "farm-" + "0" * 32}, 404),
                            ({"operations": [], "extra": 1}, 400)):
        r = post(sim, "/__sim/deny", payload)
        t.check(r.status == status, "POST /__sim/deny %s: %d" % (payload, status), r.status)
    deny = sim._json("GET", "/__sim/deny")
    stats = sim.stats()["requests"]
    t.check(deny["accessDenied"] == 5 and stats["ListBudgets"].get("403") == 1, "denials counted", deny, stats)
    p = subprocess.run([harness.env_path("SIMULATOR"), "--deny-operations", "ListBudgets,Bogus"],
                       capture_output=True, text=True, timeout=30)
    t.check(p.returncode == 2 and "unknown operation Bogus" in p.stderr, "--deny-operations with an unknown "
            "operation: exit 2, named", p.stderr)
    sim.proc.stop()


# ---- farms in several accounts ----

def check_accounts(t, workdir):
    sim = harness.Simulator(workdir, "--farm-accounts", "%s,%s" % (ACCOUNT_A, ACCOUNT_B), "--quiet",
                            name="accounts")
    home = harness.SignedClient(sim)
    d = sim._json("GET", "/__sim/farms")
    f0, f1, f2 = (f["farmId"] for f in d["farms"])
    t.check([f["accountId"] for f in d["farms"]] == [ACCOUNT_A, ACCOUNT_B, ACCOUNT_B] and
            d["homeAccountId"] == HOME and d["identityAccountId"] == HOME,
            "--farm-accounts A,B: farm 0 in A, farms 1 and 2 in B (the last one repeats)", d["farms"])
    t.check([get_farm(home, f).status for f in (f0, f1, f2)] == [200] * 3,
            "no account has keys of its own yet: the default ones reach every farm")

    principal_b = "arn:aws:sts::%s:assumed-role/render/exporter" % ACCOUNT_B
    r = post(sim, "/__sim/credentials", {"accessKeyId": "ASIAB1", "secretAccessKey": "secret-b-1",
                                         "sessionToken": "token-b-1", "accountId": ACCOUNT_B,
                                         "principalArn": principal_b})
    t.check(r.status == 200 and b"secret-b-1" not in r.body and b"token-b-1" not in r.body,
            "keys for account B taken; the answer holds no secret", r.body[:300])
    b1 = harness.SignedClient(sim, "ASIAB1", "secret-b-1", "token-b-1")
    t.check([get_farm(b1, f).status for f in (f1, f2)] == [200, 200], "B's keys reach B's farms")
    got = error_of(get_farm(b1, f0))
    t.check(got == (403, "AccessDeniedException", denied_message(principal_b, "deadline:GetFarm",
                                                                 farm_arn(f0, ACCOUNT_A), "resource")),
            "B's keys on A's farm: 403 AccessDeniedException (another account's resource)", got)
    got = error_of(get_farm(home, f1))
    t.check(got == (403, "AccessDeniedException", denied_message(HOME_USER, "deadline:GetFarm",
                                                                 farm_arn(f1, ACCOUNT_B), "resource"))
            and get_farm(home, f0).status == 200,
            "the default keys no longer reach B's farms, still A's (no keys of its own)", got)
    got = error_of(get_farm(harness.SignedClient(sim, "ASIAB1", "secret-b-1"), f1))
    t.check(got[:2] == (403, "UnrecognizedClientException"), "B's key without its session token: refused", got)
    got = error_of(get_farm(harness.SignedClient(sim, "ASIAB1", "wrong", "token-b-1"), f1))
    t.check(got[:2] == (403, "InvalidSignatureException"), "B's key with another secret: bad signature", got)
    got = error_of(get_farm(harness.SignedClient(sim, "AKIDNOBODY", "x"), f1))
    t.check(got[:2] == (403, "UnrecognizedClientException"), "an unknown key: UnrecognizedClientException", got)

    # renewal: the replaced keys are expired; keys past their expiration too
    post(sim, "/__sim/credentials", {"accessKeyId": "ASIAB2", "secretAccessKey": "secret-b-2",
                                     "sessionToken": "token-b-2", "farmId": f2, "expiration": time.time() + 2})
    b2 = harness.SignedClient(sim, "ASIAB2", "secret-b-2", "token-b-2")
    t.check(error_of(get_farm(b1, f1))[:2] == (403, "ExpiredTokenException") and get_farm(b2, f1).status == 200,
            "new keys for B (by farmId): the old ones expired, the new ones reach farm 1")
    time.sleep(2.2)
    t.check(error_of(get_farm(b2, f1))[:2] == (403, "ExpiredTokenException"),
            "keys past their expiration: ExpiredTokenException")
    slots = sim._json("GET", "/__sim/credentials")["slots"]
    t.check([(s["accountId"], s["accessKeyId"], s["previousAccessKeyId"]) for s in slots] ==
            [(HOME, harness.ACCESS_KEY_ID, None), (ACCOUNT_B, "ASIAB2", "ASIAB1")] and
            slots[1]["expiration"] is not None and "secret" not in json.dumps(slots),
            "GET /__sim/credentials: each account's key ids, no secret", slots)

    # the identity store lives in the home account: B's keys are another account's there
    inv = sim._json("GET", "/__sim/inventory")
    user = [u for u in inv["users"] if u["exists"]][0]["userId"]
    post(sim, "/__sim/credentials", {"accessKeyId": "ASIAB3", "secretAccessKey": "secret-b-3", "accountId": ACCOUNT_B})
    b3 = harness.SignedClient(sim, "ASIAB3", "secret-b-3")
    r_home, r_b = describe_user(home, inv["identityStoreId"], user), describe_user(b3, inv["identityStoreId"], user)
    t.check(r_home.status == 200 and r_b.status == 403 and json.loads(r_b.body)["__type"] == "AccessDeniedException",
            "DescribeUser: the home account's keys yes, B's no", r_home.status, r_b.body[:300])

    for payload, status in (({"accessKeyId": "K", "secretAccessKey": "S", "accountId": "12"}, 400),
                            ({"accessKeyId": "K", "secretAccessKey": "S", "accountId": ACCOUNT_A, "farmId": f0}, 400),
                            ({"accessKeyId": "K", "secretAccessKey": "S", "farmId": "farm-" + "0" * 32}, 404),
                            ({"accessKeyId": "K", "secretAccessKey": "S", "expiration": "soon"}, 400),
                            ({"accessKeyId": "K"}, 400)):
        r = post(sim, "/__sim/credentials", payload)
        t.check(r.status == status, "POST /__sim/credentials %s: %d" % (payload, status), r.status, r.body[:200])
    # keys for at most six accounts (the default one, A, B and three more): the next is refused, the others kept
    statuses = [post(sim, "/__sim/credentials", {"accessKeyId": "ASIAX%d" % i, "secretAccessKey": "s",
                                                 "accountId": "33333333333%d" % i}).status for i in range(5)]
    t.check(statuses == [200, 200, 200, 200, 409] and get_farm(b3, f1).status == 200,
            "keys for a seventh account refused (409), the others still accepted", statuses)
    for value in ("1234", "%s,%s,%s,%s" % ((ACCOUNT_A,) * 4), ACCOUNT_A + ","):
        p = subprocess.run([harness.env_path("SIMULATOR"), "--farm-accounts", value], capture_output=True,
                           text=True, timeout=30)
        t.check(p.returncode == 2 and "invalid value for --farm-accounts" in p.stderr,
                "--farm-accounts %s refused" % value, p.stderr)
    sim.proc.stop()


# ---- STS: a role per farm ----

def sts_client(fake, key, secret, token=None):
    session = botocore.session.get_session()
    return session.create_client("sts", region_name=STS_REGION, endpoint_url=fake.url, aws_access_key_id=key,
                                 aws_secret_access_key=secret, aws_session_token=token,
                                 config=Config(retries={"max_attempts": 1}))


def refused(call):
    """(code, message) of a call botocore answers with an error, else None."""
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    return None


def check_sts(t, workdir):
    sim = harness.Simulator(workdir, "--farm-accounts", "%s,%s" % (ACCOUNT_A, ACCOUNT_B), "--quiet", name="sts")
    f0, f1, f2 = (f["farmId"] for f in sim.farms())
    fake = fake_aws.FakeAWS(sim.url)
    try:
        fake.add_role(ROLE_B, external_id="ext-42", lifetime=8)
        fake.add_role(ROLE_A, trusted=["999999999999"])  # trusts another account only
        fake.add_principal("AKIDINTERN", "intern-secret", arn="arn:aws:iam::%s:user/intern" % HOME, may_assume=())
        home = sts_client(fake, harness.ACCESS_KEY_ID, harness.SECRET_ACCESS_KEY)

        me = home.get_caller_identity()
        t.check((me["Account"], me["Arn"]) == (HOME, HOME_USER) and me["UserId"].startswith("AIDA"),
                "GetCallerIdentity with the exporter's own keys: the home account's user", me)
        out = home.assume_role(RoleArn=ROLE_B, RoleSessionName=SESSION, ExternalId="ext-42", DurationSeconds=900)
        creds, arn = out["Credentials"], out["AssumedRoleUser"]["Arn"]
        lifetime = creds["Expiration"].timestamp() - time.time()
        t.check(arn == "arn:aws:sts::%s:assumed-role/deadline-exporter/%s" % (ACCOUNT_B, SESSION) and
                5 < lifetime <= 9, "AssumeRole: the role's session, short-lived keys", arn, lifetime)
        call = fake.sts_calls[-1]
        det = fake.issued_of("sts-AssumeRole")[-1]["details"]
        t.check(call["region"] == STS_REGION and det["signature"] == "valid" and det["caller"] == HOME_USER,
                "signed for the farm's region, checked with botocore, by the exporter's own keys", call, det)

        role = harness.SignedClient(sim, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        own = harness.SignedClient(sim)
        t.check([get_farm(role, f1).status, get_farm(role, f2).status, get_farm(own, f0).status] == [200] * 3,
                "the role's keys reach the role account's farms, the own keys the others")
        t.check(error_of(get_farm(role, f0)) == (403, "AccessDeniedException", denied_message(
            arn, "deadline:GetFarm", farm_arn(f0, ACCOUNT_A), "resource")) and
            error_of(get_farm(own, f1))[:2] == (403, "AccessDeniedException"),
            "and not the other account's farms, either way")
        me = sts_client(fake, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]) \
            .get_caller_identity()
        t.check((me["Account"], me["Arn"]) == (ACCOUNT_B, arn) and me["UserId"].endswith(":" + SESSION),
                "GetCallerIdentity with the role's keys: the assumed role", me)

        trust = "User: %s is not authorized to perform: sts:AssumeRole on resource: %s because no %s-based " \
                "policy allows the sts:AssumeRole action"
        cases = (
            ("a wrong ExternalId", lambda: home.assume_role(RoleArn=ROLE_B, RoleSessionName=SESSION,
                                                            ExternalId="ext-43"),
             ("AccessDenied", trust % (HOME_USER, ROLE_B, "resource"))),
            ("no ExternalId", lambda: home.assume_role(RoleArn=ROLE_B, RoleSessionName=SESSION),
             ("AccessDenied", trust % (HOME_USER, ROLE_B, "resource"))),
            ("a role that does not trust the caller", lambda: home.assume_role(RoleArn=ROLE_A,
                                                                               RoleSessionName=SESSION),
             ("AccessDenied", trust % (HOME_USER, ROLE_A, "resource"))),
            ("a caller without sts:AssumeRole", lambda: sts_client(fake, "AKIDINTERN", "intern-secret").assume_role(
                RoleArn=ROLE_B, RoleSessionName=SESSION, ExternalId="ext-42"),
             ("AccessDenied", trust % ("arn:aws:iam::%s:user/intern" % HOME, ROLE_B, "identity"))),
            ("an unknown key", lambda: sts_client(fake, "AKIDNOBODY", "x").assume_role(
                RoleArn=ROLE_B, RoleSessionName=SESSION, ExternalId="ext-42"), ("InvalidClientTokenId", None)),
            ("a wrong secret", lambda: sts_client(fake, harness.ACCESS_KEY_ID, "wrong").get_caller_identity(),
             ("SignatureDoesNotMatch", None)),
            ("DurationSeconds above the role's maximum", lambda: home.assume_role(
                RoleArn=ROLE_B, RoleSessionName=SESSION, ExternalId="ext-42", DurationSeconds=7200),
             ("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")),
        )
        for what, call, (code, message) in cases:
            got = refused(call)
            t.check(got and got[0] == code and (message is None or got[1] == message),
                    "AssumeRole refused for %s: %s" % (what, code), got)
        t.check(get_farm(role, f1).status == 200, "refused AssumeRoles leave the role's keys as they were")

        time.sleep(max(0.0, creds["Expiration"].timestamp() - time.time()) + 0.3)
        t.check(error_of(get_farm(role, f1))[:2] == (403, "ExpiredTokenException") and
                refused(lambda: sts_client(fake, creds["AccessKeyId"], creds["SecretAccessKey"],
                                           creds["SessionToken"]).get_caller_identity())[0] == "ExpiredToken",
                "past their expiration the role's keys are expired, at the farm and at STS")
        renewed = home.assume_role(RoleArn=ROLE_B, RoleSessionName=SESSION, ExternalId="ext-42")["Credentials"]
        again = harness.SignedClient(sim, renewed["AccessKeyId"], renewed["SecretAccessKey"],
                                     renewed["SessionToken"])
        t.check(get_farm(again, f1).status == 200 and get_farm(own, f0).status == 200,
                "renewed keys reach the farm again; the other account's farm unaffected throughout")
    finally:
        fake.close()
    sim.proc.stop()


# ---- the simulator's own STS: GetCallerIdentity ----

STS_FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
IDENTITY = b"Action=GetCallerIdentity&Version=2011-06-15"


def sts_answer(r):
    """(status, {tag without namespace: text}) of an STS XML answer; a Failure if it is not XML."""
    try:
        root = ET.fromstring(r.body)
    except ET.ParseError as e:
        raise harness.Failure("STS answered %d, not XML (%s): %r" % (r.status, e, r.body[:300])) from e
    return r.status, {el.tag.split("}")[-1]: (el.text or "") for el in root.iter()}


def check_sim_sts(t, workdir):
    sim = harness.Simulator(workdir, "--farm-accounts", ACCOUNT_A, "--quiet", name="sim-sts")
    own = harness.SignedClient(sim)
    status, got = sts_answer(own.send("POST", "/", IDENTITY, STS_FORM, service="sts"))
    t.check(status == 200 and (got.get("Account"), got.get("Arn")) == (HOME, HOME_USER) and
            got.get("UserId", "").startswith("AIDA") and len(got["UserId"]) == 21 and got.get("RequestId"),
            "the simulator's GetCallerIdentity, signed by botocore for sts: the default keys' account and user", got)

    failures = sim.stats()["signatureFailures"]
    bad = harness.SignedClient(sim, secret="not-the-secret")
    for what, r in (("a wrong secret", bad.send("POST", "/", IDENTITY, STS_FORM, service="sts")),
                    ("a signature for the service deadline", own.send("POST", "/", IDENTITY, STS_FORM)),
                    ("a signature for another region", own.send("POST", "/", IDENTITY, STS_FORM, service="sts",
                                                                region="eu-west-1"))):
        status, got = sts_answer(r)
        t.check(status == 403 and got.get("Code") == "SignatureDoesNotMatch" and got.get("Type") == "Sender" and
                "signature" in got.get("Message", "") and "Account" not in got,
                "GetCallerIdentity with %s: 403 SignatureDoesNotMatch, as STS's XML" % what, status, got)
    t.check(sim.stats()["signatureFailures"] == failures + 3, "each counted as a signature failure",
            sim.stats()["signatureFailures"], failures)
    status, got = sts_answer(harness.SignedClient(sim, key="AKIDNOBODY").send("POST", "/", IDENTITY, STS_FORM,
                                                                              service="sts"))
    t.check((status, got.get("Code")) == (403, "InvalidClientTokenId"), "an unknown key: 403 InvalidClientTokenId",
            status, got)
    status, got = sts_answer(own.send("POST", "/", b"Action=AssumeRole&Version=2011-06-15&RoleArn=" + ROLE_A.encode()
                                      + b"&RoleSessionName=x", STS_FORM, service="sts"))
    t.check(status == 400 and got.get("Code") == "InvalidAction" and "GetCallerIdentity" in got.get("Message", ""),
            "another STS action: 400 InvalidAction saying what is served", status, got)

    # a farm account's keys (as after AssumeRole): that account and its role session
    session_arn = "arn:aws:sts::%s:assumed-role/render/exporter" % ACCOUNT_A
    post(sim, "/__sim/credentials", {"accessKeyId": "AKIDACCOUNTA", "secretAccessKey": "a-secret",
                                     "accountId": ACCOUNT_A, "principalArn": session_arn})
    status, got = sts_answer(harness.SignedClient(sim, key="AKIDACCOUNTA", secret="a-secret")
                             .send("POST", "/", IDENTITY, STS_FORM, service="sts"))
    t.check(status == 200 and (got.get("Account"), got.get("Arn")) == (ACCOUNT_A, session_arn) and
            got.get("UserId", "").startswith("AROA") and got["UserId"].endswith(":exporter"),
            "with an account's keys: that account and the assumed role's session", got)
    try:
        p = subprocess.run([harness.env_path("SIMULATOR"), "--deny-operations", "GetCallerIdentity", "--quiet"],
                           capture_output=True, text=True, timeout=10)
        refusal = (p.returncode, p.stderr)
    except subprocess.TimeoutExpired:
        refusal = ("still running after 10 s: accepted", "")
    t.check(refusal[0] == 2, "--deny-operations GetCallerIdentity refused: it needs no permission", *refusal)
    sim.proc.stop()

    # the exporter pointed at the simulator for STS, as the demo does: the farms' account_id, no warning
    sim = harness.Simulator(workdir, "--aggregation-delay", "50", "--quiet", name="sim-sts-exporter")
    farm_ids = [f["farmId"] for f in sim.farms()]
    report = harness.Report("cost", ["QUEUE_ID"], ["SUM"], interval="1m")
    exp = harness.Exporter(workdir, sim, farm_ids, [report], env={"AWS_ENDPOINT_URL_STS": sim.url},
                           name="exporter-sim-sts")
    exp.wait_ready()

    def accounts():
        got = {s.labels.get("farm_id"): s.labels.get("account_id")
               for s in exp.scrape()[2].series("deadline_cloud_farm_info")}
        return got if set(got) == set(farm_ids) else None

    got = harness.wait_for("deadline_cloud_farm_info for every farm", accounts, 60, interval=0.5,
                           alive=[exp.proc])
    t.check(got == {f: HOME for f in farm_ids}, 'farm_info{account_id="%s"} for every farm, from the simulator\'s '
            "GetCallerIdentity" % HOME, got)
    calls = sim.stats()["requests"]["GetCallerIdentity"]
    t.check(calls.get("200", 0) >= 1 and set(calls) == {"200"}, "the exporter asked the simulator's STS, signed well",
            calls)
    t.check("op=GetCallerIdentity status=error" not in exp.log_text(), "and logged no GetCallerIdentity error")
    exp.stop()
    sim.proc.stop()


def main():
    with harness.Test("simulator_accounts") as t:
        if botocore is None:
            raise harness.Skip("python3-botocore is not installed")
        # botocore's STS client: nothing from this machine's AWS setup, no proxy
        for k in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[k]
        os.environ.update(AWS_CONFIG_FILE=os.path.join(t.workdir, "none"), NO_PROXY="*", no_proxy="*",
                          AWS_SHARED_CREDENTIALS_FILE=os.path.join(t.workdir, "none"))
        check_deny(t, t.workdir)
        check_accounts(t, t.workdir)
        check_sts(t, t.workdir)
        check_sim_sts(t, t.workdir)
    return t.status


if __name__ == "__main__":
    sys.exit(main())
