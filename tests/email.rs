//! Email verification and password resets over HTTP, with mail delivered for real: the test
//! runs a small SMTP sink and the server sends to it. Sign-up mails a link that verifies the
//! email; `preventLoginWithUnverifiedEmail` keeps unverified users out; `/requestPasswordReset`
//! mails a link to the new-password form, whose post changes the password and ends the
//! sessions; the errors of both routes; expired and reused links; the pages without
//! `publicServerURL`; and no link token in plain text in the log.

mod common;

use std::time::Duration;

use common::{send, TestServer, APP_ID};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// What the server is told its public address is; links are followed on the real port.
const PUBLIC: &str = "http://chronicle.test/parse";

/// A message as the sink received it: the recipient and the decoded text.
#[derive(Debug)]
struct Received {
    to: String,
    data: String,
}

impl Received {
    /// The first link in the mail, and it as a URL of the test server.
    fn link(&self, s: &TestServer) -> String {
        let start = self.data.find(PUBLIC).expect("a link in the mail");
        let link: String = self.data[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        link.replace(PUBLIC, &s.url("/parse"))
    }

    /// The `token` parameter of the mail's link.
    fn token(&self, s: &TestServer) -> String {
        let link = self.link(s);
        let (_, query) = link.split_once('?').expect("query");
        query
            .split('&')
            .find_map(|p| p.strip_prefix("token="))
            .expect("token")
            .to_string()
    }
}

/// Undoes quoted-printable, should the mail use it.
fn decode_qp(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A minimal SMTP server on a free loopback port: accepts every message and hands it over.
async fn smtp_sink() -> (u16, mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the SMTP sink");
    let port = listener.local_addr().expect("address").port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut to = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        to = line[8..]
                            .trim()
                            .trim_matches(|c| c == '<' || c == '>')
                            .to_string();
                        b"250 OK\r\n"
                    } else if upper.starts_with("DATA") {
                        let _ = write.write_all(b"354 go on\r\n").await;
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            // Dot-stuffing: a line starting with a dot was sent with two.
                            data.push_str(
                                l.strip_prefix('.')
                                    .filter(|_| l.starts_with(".."))
                                    .unwrap_or(&l),
                            );
                            data.push_str("\r\n");
                        }
                        let data = match data.to_ascii_lowercase().contains("quoted-printable") {
                            true => decode_qp(&data),
                            false => data,
                        };
                        let _ = tx.send(Received {
                            to: std::mem::take(&mut to),
                            data,
                        });
                        b"250 accepted\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, rx)
}

async fn next_mail(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("a mail within 15 s")
        .expect("the sink is running")
}

/// No mail arrives for a moment.
async fn no_mail(rx: &mut mpsc::UnboundedReceiver<Received>) {
    if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(700), rx.recv()).await {
        panic!("unexpected mail to {}", m.to);
    }
}

/// A server that mails through the sink, with `extra` options.
async fn start(extra: &[&str]) -> (TestServer, mpsc::UnboundedReceiver<Received>) {
    let (port, rx) = smtp_sink().await;
    let port = port.to_string();
    let mut args = vec![
        "--appName",
        "Chronicle Test",
        "--publicServerURL",
        PUBLIC,
        "--emailAdapter.smtpHost",
        "127.0.0.1",
        "--emailAdapter.smtpPort",
        &port,
        "--emailAdapter.smtpSecurity",
        "none",
        "--emailAdapter.fromAddress",
        "Chronicle <noreply@chronicle.test>",
    ];
    args.extend_from_slice(extra);
    (TestServer::start_with(&args).await, rx)
}

/// A client that does not follow redirects, to see them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Opens `url` in the browser: status, `Location` (made relative to the public URL) and body.
async fn open(
    method: Method,
    url: &str,
    form: Option<&[(&str, &str)]>,
) -> (u16, Option<String>, String) {
    let mut rb = browser().request(method, url);
    if let Some(form) = form {
        rb = rb.form(form);
    }
    let res = rb.send().await.expect("page");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().expect("location").to_string());
    (status, location, res.text().await.unwrap_or_default())
}

fn error(code: i64, message: &str) -> Value {
    json!({"code": code, "error": message})
}

/// The user as the master key sees it.
async fn user(s: &TestServer, id: &str) -> Value {
    let (status, u) = send(s.master(Method::GET, &format!("/parse/users/{id}"))).await;
    assert_eq!(status, 200, "{u}");
    u
}

/// No token of `mails` appears anywhere in the log.
async fn log_holds_no_token(s: &TestServer, tokens: &[String]) {
    let events = s.logged_events().await;
    assert!(!events.is_empty());
    let text = serde_json::to_string(&events).expect("events as JSON");
    for t in tokens {
        assert!(!text.contains(t.as_str()), "token {t} in the log");
    }
    assert!(text.contains("_email_verify_token") || text.contains("_perishable_token"));
}

#[tokio::test]
async fn sign_up_mails_a_link_that_verifies_the_email() {
    let (s, mut mails) = start(&["--verifyUserEmails"]).await;
    let (status, res) = s
        .post(
            "/parse/users",
            json!({"username": "alice", "password": "pw-1", "email": "Alice@Example.com"}),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    assert!(res["sessionToken"].is_string(), "{res}");
    let id = res["objectId"].as_str().unwrap().to_string();
    assert_eq!(user(&s, &id).await["emailVerified"], json!(false));

    let mail = next_mail(&mut mails).await;
    assert_eq!(mail.to, "Alice@Example.com");
    assert!(
        mail.data
            .contains("Please verify your e-mail for Chronicle Test"),
        "{}",
        mail.data
    );
    let link = mail.link(&s);
    assert!(
        link.starts_with(&s.url(&format!("/parse/apps/{APP_ID}/verify_email?token="))),
        "{link}"
    );
    assert!(link.ends_with("&username=alice"), "{link}");
    let mut tokens = vec![mail.token(&s)];

    // A wrong token, a link without one, another app: refused.
    let wrong = link.replace(&tokens[0], "nope");
    let (status, location, _) = open(Method::GET, &wrong, None).await;
    assert_eq!(status, 302);
    assert_eq!(
        location.as_deref(),
        Some(
            format!("{PUBLIC}/apps/invalid_verification_link.html?username=alice&appId={APP_ID}")
                .as_str()
        )
    );
    let (_, location, _) = open(
        Method::GET,
        &s.url(&format!("/parse/apps/{APP_ID}/verify_email?username=alice")),
        None,
    )
    .await;
    assert_eq!(
        location.as_deref(),
        Some(format!("{PUBLIC}/apps/invalid_link.html").as_str())
    );
    let (status, _, _) = open(
        Method::GET,
        &link.replace(&format!("/apps/{APP_ID}/"), "/apps/other/"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(user(&s, &id).await["emailVerified"], json!(false));

    // The link verifies.
    let (status, location, _) = open(Method::GET, &link, None).await;
    assert_eq!(status, 302);
    assert_eq!(
        location.as_deref(),
        Some(format!("{PUBLIC}/apps/verify_email_success.html?username=alice").as_str())
    );
    assert_eq!(user(&s, &id).await["emailVerified"], json!(true));
    let (status, _, page) = open(
        Method::GET,
        &s.url("/parse/apps/verify_email_success.html?username=%3Cb%3Ealice"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("&lt;b&gt;alice"), "{page}");

    // No email, no verification: the field stays absent.
    let (status, res) = s
        .post("/parse/users", json!({"username": "bob", "password": "pw"}))
        .await;
    assert_eq!(status, 201, "{res}");
    let bob = res["objectId"].as_str().unwrap();
    assert!(user(&s, bob).await.get("emailVerified").is_none());
    no_mail(&mut mails).await;

    // A changed email is unverified again, and mailed a new link.
    let token = res["sessionToken"].as_str().unwrap();
    let (status, res) = send(
        s.as_user(Method::PUT, &format!("/parse/users/{bob}"), token)
            .json(&json!({"email": "bob@example.com"})),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(user(&s, bob).await["emailVerified"], json!(false));
    let mail = next_mail(&mut mails).await;
    assert_eq!(mail.to, "bob@example.com");
    tokens.push(mail.token(&s));
    let (_, location, _) = open(Method::GET, &mail.link(&s), None).await;
    assert!(location.unwrap().contains("verify_email_success"));
    assert_eq!(user(&s, bob).await["emailVerified"], json!(true));

    log_holds_no_token(&s, &tokens).await;
}

#[tokio::test]
async fn unverified_users_cannot_log_in_and_may_ask_for_a_new_link() {
    let (s, mut mails) = start(&["--verifyUserEmails", "--preventLoginWithUnverifiedEmail"]).await;
    let (status, res) = s
        .post(
            "/parse/users",
            json!({"username": "carol", "password": "pw-1", "email": "carol@example.com"}),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    assert!(res.get("sessionToken").is_none(), "{res}");
    let first = next_mail(&mut mails).await;

    let login = json!({"username": "carol", "password": "pw-1"});
    let (status, res) = s.post("/parse/login", login.clone()).await;
    assert_eq!(
        (status, res),
        (400, error(205, "User email is not verified."))
    );
    // The master key may pass, if it says so.
    let (status, res) =
        send(s.master(Method::POST, "/parse/login").json(
            &json!({"username": "carol", "password": "pw-1", "ignoreEmailVerification": true}),
        ))
        .await;
    assert_eq!(status, 200, "{res}");

    // /verificationEmailRequest and its errors.
    for (body, expected) in [
        (json!({}), error(204, "you must provide an email")),
        (
            json!({"email": ""}),
            error(204, "you must provide an email"),
        ),
        (
            json!({"email": 7}),
            error(125, "you must provide a valid email string"),
        ),
        (
            json!({"email": "nobody@example.com"}),
            error(205, "No user found with email nobody@example.com"),
        ),
    ] {
        let (status, res) = s
            .post("/parse/verificationEmailRequest", body.clone())
            .await;
        assert_eq!((status, res), (400, expected), "{body}");
    }
    let (status, res) = s
        .post(
            "/parse/verificationEmailRequest",
            json!({"email": "carol@example.com"}),
        )
        .await;
    assert_eq!((status, res), (200, json!({})));
    let second = next_mail(&mut mails).await;
    assert_eq!(second.to, "carol@example.com");
    assert_ne!(first.token(&s), second.token(&s));

    // The first link was replaced by the second.
    let (_, location, _) = open(Method::GET, &first.link(&s), None).await;
    assert!(
        location.unwrap().contains("invalid_verification_link.html"),
        "the replaced link"
    );
    let (_, location, _) = open(Method::GET, &second.link(&s), None).await;
    assert!(location.unwrap().contains("verify_email_success.html"));
    let (status, res) = s.post("/parse/login", login).await;
    assert_eq!(status, 200, "{res}");
    assert!(res["sessionToken"].is_string());
    assert_eq!(res["emailVerified"], json!(true));

    let (status, res) = s
        .post(
            "/parse/verificationEmailRequest",
            json!({"email": "carol@example.com"}),
        )
        .await;
    assert_eq!(
        (status, res),
        (
            400,
            error(-1, "Email carol@example.com is already verified.")
        )
    );
    log_holds_no_token(&s, &[first.token(&s), second.token(&s)]).await;
}

#[tokio::test]
async fn password_reset_through_the_mailed_link() {
    let (s, mut mails) = start(&[]).await;
    let (status, res) = s
        .post(
            "/parse/users",
            json!({"username": "dave", "password": "old-pw", "email": "dave@example.com"}),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    let old_session = res["sessionToken"].as_str().unwrap().to_string();
    // Verification is off: no mail, no emailVerified.
    no_mail(&mut mails).await;

    for (body, expected) in [
        (json!({}), error(204, "you must provide an email")),
        (
            json!({"email": true}),
            error(125, "you must provide a valid email string"),
        ),
    ] {
        let (status, res) = s.post("/parse/requestPasswordReset", body.clone()).await;
        assert_eq!((status, res), (400, expected), "{body}");
    }
    // An unknown email is answered as a known one, and nothing is sent.
    let (status, res) = s
        .post(
            "/parse/requestPasswordReset",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!((status, res), (200, json!({})));
    no_mail(&mut mails).await;

    let (status, res) = s
        .post(
            "/parse/requestPasswordReset",
            json!({"email": "DAVE@example.com"}),
        )
        .await;
    assert_eq!((status, res), (200, json!({})));
    let mail = next_mail(&mut mails).await;
    assert_eq!(mail.to, "dave@example.com");
    assert!(mail.data.contains("Password Reset for Chronicle Test"));
    let link = mail.link(&s);
    let token = mail.token(&s);
    assert!(
        link.starts_with(&s.url(&format!(
            "/parse/apps/{APP_ID}/request_password_reset?token="
        ))),
        "{link}"
    );

    // The link leads to the form.
    let (status, location, _) = open(Method::GET, &link, None).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert_eq!(
        location,
        format!(
            "{PUBLIC}/apps/choose_password?token={token}&id={APP_ID}&username=dave&app=Chronicle%20Test"
        )
    );
    let (status, _, page) = open(
        Method::GET,
        &location.replace(PUBLIC, &s.url("/parse")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"new_password\""), "{page}");
    assert!(page.contains(&format!("value=\"{token}\"")), "{page}");
    assert!(page.contains(&format!(
        "action=\"{PUBLIC}/apps/{APP_ID}/request_password_reset\""
    )));

    // The form's post (as a script would send it: errors as JSON).
    let form_url = s.url(&format!("/parse/apps/{APP_ID}/request_password_reset"));
    let xhr = |form: &'static [(&'static str, &'static str)]| {
        browser()
            .post(&form_url)
            .header("X-Requested-With", "XMLHttpRequest")
            .form(form)
    };
    let (status, res) = send(xhr(&[("token", "t"), ("new_password", "p")])).await;
    assert_eq!((status, res), (400, error(200, "Missing username")));
    let (status, res) = send(xhr(&[("username", "dave"), ("new_password", "p")])).await;
    assert_eq!((status, res), (400, error(-1, "Missing token")));
    let (status, res) = send(xhr(&[
        ("username", "dave"),
        ("token", "wrong"),
        ("new_password", "p"),
    ]))
    .await;
    assert_eq!(
        (status, res),
        (
            400,
            error(
                -1,
                "Failed to reset password: username / email / token is invalid"
            )
        )
    );
    // A browser's post without a password goes to the invalid-link page.
    let (status, location, _) = open(
        Method::POST,
        &form_url,
        Some(&[("username", "dave"), ("token", &token)]),
    )
    .await;
    assert_eq!(status, 302);
    assert_eq!(
        location.as_deref(),
        Some(format!("{PUBLIC}/apps/invalid_link.html").as_str())
    );

    let (status, location, _) = open(
        Method::POST,
        &form_url,
        Some(&[
            ("username", "dave"),
            ("token", &token),
            ("new_password", "new-pw"),
            ("confirm_new_password", "new-pw"),
        ]),
    )
    .await;
    assert_eq!(status, 302);
    assert_eq!(
        location.as_deref(),
        Some(format!("{PUBLIC}/apps/password_reset_success.html?username=dave").as_str())
    );

    // The new password works, the old does not, the old session is gone.
    let (status, _) = s.log_in("dave", "old-pw").await;
    assert_eq!(status, 404);
    let (status, res) = s.log_in("dave", "new-pw").await;
    assert_eq!(status, 200, "{res}");
    let (status, res) = send(s.as_user(Method::GET, "/parse/users/me", &old_session)).await;
    assert_eq!(status, 400, "{res}");
    assert_eq!(res["code"], json!(209));

    // The link worked once.
    let (_, location, _) = open(Method::GET, &link, None).await;
    assert_eq!(
        location.as_deref(),
        Some(format!("{PUBLIC}/apps/invalid_link.html").as_str())
    );
    let (status, location, _) = open(
        Method::POST,
        &form_url,
        Some(&[
            ("username", "dave"),
            ("token", &token),
            ("new_password", "x"),
        ]),
    )
    .await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(
        location.starts_with(&format!(
            "{PUBLIC}/apps/choose_password?username=dave&token="
        )),
        "{location}"
    );
    assert!(
        location.contains("&error=Failed%20to%20reset%20password"),
        "{location}"
    );

    // A user without an email is found by username.
    let (status, _) = s
        .post(
            "/parse/users",
            json!({"username": "erin@example.com", "password": "pw"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = s
        .post(
            "/parse/requestPasswordReset",
            json!({"email": "erin@example.com"}),
        )
        .await;
    assert_eq!(status, 200);
    let erin = next_mail(&mut mails).await;
    assert_eq!(erin.to, "erin@example.com");

    log_holds_no_token(&s, &[token, erin.token(&s)]).await;
}

#[tokio::test]
async fn links_expire() {
    let (s, mut mails) = start(&[
        "--verifyUserEmails",
        "--emailVerifyTokenValidityDuration",
        "1",
        "--passwordPolicy.resetTokenValidityDuration",
        "1",
    ])
    .await;
    let (status, _) = s
        .post(
            "/parse/users",
            json!({"username": "fay", "password": "pw", "email": "fay@example.com"}),
        )
        .await;
    assert_eq!(status, 201);
    let verify = next_mail(&mut mails).await;
    let (status, _) = s
        .post(
            "/parse/requestPasswordReset",
            json!({"email": "fay@example.com"}),
        )
        .await;
    assert_eq!(status, 200);
    let reset = next_mail(&mut mails).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, location, _) = open(Method::GET, &verify.link(&s), None).await;
    assert!(
        location.unwrap().contains("invalid_verification_link.html"),
        "an expired verification link"
    );
    let (_, location, _) = open(Method::GET, &reset.link(&s), None).await;
    assert_eq!(
        location.as_deref(),
        Some(format!("{PUBLIC}/apps/invalid_link.html").as_str())
    );
    let (status, res) = send(
        browser()
            .post(s.url(&format!("/parse/apps/{APP_ID}/request_password_reset")))
            .header("X-Requested-With", "XMLHttpRequest")
            .form(&[
                ("username", "fay"),
                ("token", reset.token(&s).as_str()),
                ("new_password", "x"),
            ]),
    )
    .await;
    assert_eq!(
        (status, res),
        (400, error(-1, "The password reset link has expired"))
    );
}

#[tokio::test]
async fn without_mail_configuration() {
    let s = TestServer::start_with(&[]).await;
    for route in [
        "/parse/requestPasswordReset",
        "/parse/verificationEmailRequest",
    ] {
        let (status, res) = s.post(route, json!({"email": "a@b.c"})).await;
        assert_eq!(
            (status, res),
            (
                500,
                error(
                    1,
                    "An appName, publicServerURL, and emailAdapter are required for password reset and email verification functionality."
                )
            ),
            "{route}"
        );
    }
    // Without publicServerURL the pages that act are not there; the fixed ones are.
    for (method, path) in [
        (
            Method::GET,
            format!("/parse/apps/{APP_ID}/verify_email?token=a&username=b"),
        ),
        (
            Method::GET,
            format!("/parse/apps/{APP_ID}/request_password_reset?token=a&username=b"),
        ),
        (
            Method::POST,
            format!("/parse/apps/{APP_ID}/request_password_reset"),
        ),
        (
            Method::GET,
            format!("/parse/apps/choose_password?id={APP_ID}"),
        ),
    ] {
        let (status, _, body) = open(method.clone(), &s.url(&path), None).await;
        assert_eq!(
            (status, body.as_str()),
            (404, "Not found."),
            "{method} {path}"
        );
    }
    let (status, _, _) = open(Method::GET, &s.url("/parse/apps/invalid_link.html"), None).await;
    assert_eq!(status, 200);
    // The pages need no keys, but the API still does.
    let (status, _) = send(browser().post(s.url("/parse/requestPasswordReset"))).await;
    assert_eq!(status, 403);

    // verifyUserEmails without what mails need: the server does not start.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chronicle"))
        .args([
            "serve",
            "--appId",
            "x",
            "--masterKey",
            "y",
            "--verifyUserEmails",
        ])
        .arg("--dataDir")
        .arg(s.data_dir.join("other"))
        .output()
        .expect("run chronicle");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("emailAdapter"));
}
