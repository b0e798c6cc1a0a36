//! Files over HTTP: uploads (raw bytes, and the JS SDK's JSON with `base64`), byte-for-byte
//! downloads with ranges from every API process, the upload policy and name rules with
//! Parse Server's errors, the size limit, deletion with the master key, URLs filled in on
//! objects, and the `file.stored` / `file.deleted` events in the log.

mod common;

use base64::Engine;
use common::{send, TestServer, APP_ID, JS_KEY, MASTER_KEY};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Digest;

/// Bytes no text encoding survives: every byte value, then pseudo-random ones.
fn binary(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|i| {
            if i < 256 {
                return i as u8;
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

async fn upload(
    s: &TestServer,
    rb: reqwest::RequestBuilder,
    data: Vec<u8>,
) -> (u16, Value, Option<String>) {
    let res = rb.body(data).send().await.expect("upload sent");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    let body = res.json().await.unwrap_or(Value::Null);
    let _ = s;
    (status, body, location)
}

/// Downloads `url` (no keys, as a browser would), optionally with a `Range` header.
async fn download(url: &str, range: Option<&str>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut rb = reqwest::Client::new().get(url);
    if let Some(r) = range {
        rb = rb.header("Range", r);
    }
    let res = rb.send().await.expect("download sent");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.expect("bytes").to_vec())
}

/// The same URL on the query-api process (the distributed stack serves reads there too).
fn on_query_port(s: &TestServer, url: &str) -> String {
    url.replace(
        &format!("127.0.0.1:{}", s.port),
        &format!("127.0.0.1:{}", s.query_port),
    )
}

fn is_prefixed(stored: &str, name: &str) -> bool {
    stored.len() == 33 + name.len()
        && stored.ends_with(&format!("_{name}"))
        && stored[..32].chars().all(|c| c.is_ascii_hexdigit())
}

#[tokio::test]
async fn binary_files_round_trip_byte_for_byte() {
    let s = TestServer::start_with(&["--fileUpload.enableForPublic"]).await;
    let data = binary(300_000);
    let (status, res, location) = upload(
        &s,
        s.req(Method::POST, "/parse/files/photo.jpg")
            .header("Content-Type", "image/jpeg"),
        data.clone(),
    )
    .await;
    assert_eq!(status, 201, "{res}");
    let name = res["name"].as_str().unwrap().to_string();
    assert!(is_prefixed(&name, "photo.jpg"), "{name}");
    let url = res["url"].as_str().unwrap().to_string();
    assert_eq!(url, s.url(&format!("/parse/files/{APP_ID}/{name}")));
    assert_eq!(location.as_deref(), Some(url.as_str()));

    for url in [url.clone(), on_query_port(&s, &url)] {
        let (status, headers, got) = download(&url, None).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "image/jpeg");
        assert!(got == data, "the bytes differ");
        let (status, headers, got) = download(&url, Some("bytes=1000-1999")).await;
        assert_eq!(status, 206);
        assert_eq!(headers["content-range"], "bytes 1000-1999/300000");
        assert_eq!(got, data[1000..2000]);
        let (status, _, got) = download(&url, Some("bytes=-16")).await;
        assert_eq!((status, got.as_slice()), (206, &data[data.len() - 16..]));
        let (status, _, _) = download(&url, Some("bytes=300000-")).await;
        assert_eq!(status, 416);
    }

    // The log records the upload: name, size, type, checksum and who; not the bytes.
    let events = s.logged_events().await;
    let stored: Vec<_> = events
        .iter()
        .filter(|e| e.kind == events::EventKind::FileStored)
        .collect();
    assert_eq!(stored.len(), 1);
    let record = stored[0].payload.file.clone().expect("file record");
    assert_eq!(record.name, name);
    assert_eq!(record.size, Some(data.len() as u64));
    assert_eq!(record.content_type.as_deref(), Some("image/jpeg"));
    let sha: String = sha2::Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(record.sha256, Some(sha));
    assert_eq!(stored[0].actor.kind, "public");
}

#[tokio::test]
async fn a_ten_megabyte_upload_and_the_size_limit() {
    let s = TestServer::start_with(&["--maxUploadSize", "11mb"]).await;
    let data = binary(10 * 1024 * 1024);
    let (status, res, _) = upload(
        &s,
        s.master(Method::POST, "/parse/files/big.bin"),
        data.clone(),
    )
    .await;
    assert_eq!(status, 201, "{res}");
    let (status, headers, got) = download(res["url"].as_str().unwrap(), None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(got == data, "the 10 MB file differs");

    // Over the limit: 413 with the SDKs' FileTooLarge code, and nothing stored or logged.
    let before = s.logged_events().await.len();
    let (status, res, _) = upload(
        &s,
        s.master(Method::POST, "/parse/files/huge.bin"),
        binary(12 * 1024 * 1024),
    )
    .await;
    assert_eq!(status, 413, "{res}");
    assert_eq!(res["code"], 129, "{res}");
    assert!(res["error"].as_str().unwrap().contains("maxUploadSize"));
    assert_eq!(s.logged_events().await.len(), before);
    if !common::distributed() {
        let app_dirs = std::fs::read_dir(s.data_dir.join("files")).unwrap();
        let files: usize = app_dirs
            .map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
            .sum();
        assert_eq!(files, 1, "only the first file is stored");
    }
}

#[tokio::test]
async fn names_and_the_upload_policy() {
    let s = TestServer::start().await;
    let err = |code: i64, msg: &str| json!({"code": code, "error": msg});
    // Parse Server's default: no uploads without a user or the master key.
    let (status, res, _) =
        upload(&s, s.req(Method::POST, "/parse/files/a.txt"), b"x".to_vec()).await;
    assert_eq!(
        (status, res),
        (400, err(130, "File upload by public is disabled."))
    );

    for (path, msg) in [
        (
            "/parse/files/%C3%A9t%C3%A9.txt",
            "Filename contains invalid characters.",
        ),
        (
            "/parse/files/..%2F..%2Fetc%2Fpasswd",
            "Filename contains invalid characters.",
        ),
        (
            "/parse/files/.htaccess",
            "Filename contains invalid characters.",
        ),
        (
            "/parse/files/a%5Cb.txt",
            "Filename contains invalid characters.",
        ),
    ] {
        let (status, res, _) = upload(&s, s.master(Method::POST, path), b"x".to_vec()).await;
        assert_eq!((status, res), (400, err(122, msg)), "{path}");
    }
    let long = format!("/parse/files/{}.txt", "a".repeat(130));
    let (status, res, _) = upload(&s, s.master(Method::POST, &long), b"x".to_vec()).await;
    assert_eq!((status, res), (400, err(122, "Filename too long.")));
    let (status, res, _) = upload(&s, s.master(Method::POST, "/parse/files"), b"x".to_vec()).await;
    assert_eq!((status, res), (400, err(122, "Filename not provided.")));
    let (status, res, _) =
        upload(&s, s.master(Method::POST, "/parse/files/empty.txt"), vec![]).await;
    assert_eq!((status, res), (400, err(130, "Invalid file upload.")));
    assert!(
        !s.logged_events()
            .await
            .iter()
            .any(|e| e.kind == events::EventKind::FileStored),
        "a refused upload logs nothing"
    );

    // A name without extension gets the content type's; the master key may upload HTML.
    let (status, res, _) = upload(
        &s,
        s.master(Method::POST, "/parse/files/my%20pic")
            .header("Content-Type", "image/png"),
        b"png".to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{res}");
    let name = res["name"].as_str().unwrap();
    assert!(is_prefixed(name, "my pic.png"), "{name}");
    assert!(
        res["url"].as_str().unwrap().ends_with("_my%20pic.png"),
        "{res}"
    );
    let (_, headers, _) = download(res["url"].as_str().unwrap(), None).await;
    assert_eq!(headers["content-type"], "image/png");
    let (status, _, _) = upload(
        &s,
        s.master(Method::POST, "/parse/files/page.html"),
        b"<p>".to_vec(),
    )
    .await;
    assert_eq!(status, 201);

    // With public uploads on, HTML stays refused to clients (by name or by type).
    let open =
        TestServer::start_with(&["--fileUpload.enableForPublic", "--preserveFileName"]).await;
    let (status, res, _) = upload(
        &open,
        open.req(Method::POST, "/parse/files/page.html"),
        b"<p>".to_vec(),
    )
    .await;
    assert_eq!(
        (status, res),
        (400, err(130, "File upload of extension html is disabled."))
    );
    let (status, res, _) = upload(
        &open,
        open.req(Method::POST, "/parse/files/page")
            .header("Content-Type", "text/htm"),
        b"<p>".to_vec(),
    )
    .await;
    assert_eq!(
        (status, res),
        (400, err(130, "File upload of extension htm is disabled."))
    );
    let (status, res, _) = upload(
        &open,
        open.req(Method::POST, "/parse/files/notes.txt"),
        b"n".to_vec(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(res["name"], "notes.txt", "preserveFileName keeps the name");
}

#[tokio::test]
async fn json_uploads_deletion_and_urls_on_objects() {
    let s = TestServer::start().await;
    // The JS SDK's form: keys and the file in a JSON body sent as text/plain.
    let data = binary(5000);
    let body = json!({
        "_ApplicationId": APP_ID,
        "_JavaScriptKey": JS_KEY,
        "_MasterKey": MASTER_KEY,
        "_ContentType": "application/pdf",
        "base64": base64::engine::general_purpose::STANDARD.encode(&data),
        "fileData": {"metadata": {}, "tags": {}}
    });
    let res = reqwest::Client::new()
        .post(s.url("/parse/files/report"))
        .header("Content-Type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let res: Value = res.json().await.unwrap();
    let name = res["name"].as_str().unwrap().to_string();
    assert!(is_prefixed(&name, "report.pdf"), "{name}");
    let url = res["url"].as_str().unwrap().to_string();
    let (_, headers, got) = download(&url, None).await;
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(got == data);
    let (status, meta) =
        send(reqwest::Client::new().get(s.url(&format!("/parse/files/{APP_ID}/metadata/{name}"))))
            .await;
    assert_eq!((status, meta["size"].clone()), (200, json!(5000)));

    // Attached to an object, a file reads back with its URL, whatever URL was sent.
    let id = s
        .create(
            "Doc",
            json!({"file": {"__type": "File", "name": name, "url": "http://elsewhere/x"},
                   "pages": [{"__type": "File", "name": name}]}),
        )
        .await;
    let expected = json!({"__type": "File", "name": name, "url": url});
    let (_, got) = s.get(&format!("/parse/classes/Doc/{id}")).await;
    assert_eq!(got["file"], expected);
    assert_eq!(got["pages"][0], expected);
    let found = s.all("Doc").await;
    assert_eq!(found[0]["file"], expected);

    // Unknown app: 403 with Parse's error; unknown file: 404 text.
    let (status, res) =
        send(reqwest::Client::new().get(s.url(&format!("/parse/files/nope/{name}")))).await;
    assert_eq!(
        (status, res),
        (
            403,
            json!({"code": 119, "error": "Invalid application ID."})
        )
    );
    let (status, _, text) =
        download(&s.url(&format!("/parse/files/{APP_ID}/missing.txt")), None).await;
    assert_eq!(
        (status, text.as_slice()),
        (404, b"File not found.".as_slice())
    );

    // Deletion needs the master key, answers an empty 200, and is logged.
    let (status, _) = send(s.req(Method::DELETE, &format!("/parse/files/{name}"))).await;
    assert_eq!(status, 403);
    let res = s
        .master(Method::DELETE, &format!("/parse/files/{name}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.bytes().await.unwrap().is_empty());
    let (status, _, _) = download(&url, None).await;
    assert_eq!(status, 404);
    let (status, res) = send(s.master(Method::DELETE, &format!("/parse/files/{name}"))).await;
    assert_eq!(
        (status, res),
        (400, json!({"code": 153, "error": "Could not delete file."}))
    );
    let events = s.logged_events().await;
    let deleted: Vec<_> = events
        .iter()
        .filter(|e| e.kind == events::EventKind::FileDeleted)
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].payload.file.as_ref().unwrap().name, name);
    assert_eq!(deleted[0].actor.kind, "master");
}

#[tokio::test]
async fn logged_in_users_upload_and_anonymous_ones_do_not() {
    let s = TestServer::start().await;
    let (_, token) = s
        .sign_up(json!({"username": "alice", "password": "pw"}))
        .await;
    let (status, res, _) = upload(
        &s,
        s.as_user(Method::POST, "/parse/files/note.txt", &token),
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{res}");
    let (_, anon) = s
        .post(
            "/parse/users",
            json!({"authData": {"anonymous": {"id": "a-1"}}}),
        )
        .await;
    let anon_token = anon["sessionToken"].as_str().unwrap();
    let (status, res, _) = upload(
        &s,
        s.as_user(Method::POST, "/parse/files/note.txt", anon_token),
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 130, "error": "File upload by anonymous user is disabled."})
        )
    );
    let off = TestServer::start_with(&["--fileUpload.enableForAuthenticatedUser", "false"]).await;
    let (_, token) = off
        .sign_up(json!({"username": "bob", "password": "pw"}))
        .await;
    let (status, res, _) = upload(
        &off,
        off.as_user(Method::POST, "/parse/files/note.txt", &token),
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 130, "error": "File upload by authenticated user is disabled."})
        )
    );
}
