//! `POST /batch`: sub-requests routed as if sent alone (paths carry the mount prefix), reads
//! answered from the read model, writes appended together in one group; with
//! `"transaction": true` all writes form one event that applies entirely or not at all.
//! Installation saves follow their rules here too (`installations`), decided against the
//! state before the batch.

use api::{ApiError, ParseRequest, ParseResponse, Route};
use axum::http::Method;
use futures::future::join_all;
use model::{Map, ParseError};
use serde_json::{json, Value};

use crate::CommandApi;

fn entry(result: Result<ParseResponse, ApiError>) -> Value {
    match result {
        Ok(r) => json!({"success": r.body}),
        Err(e) => {
            let e = e.as_parse_error();
            json!({"error": {"code": e.code, "error": e.error}})
        }
    }
}

impl CommandApi {
    /// Builds the sub-requests. One that cannot be routed fails the whole batch, as in Parse
    /// Server; one that routes but is invalid (a bad class name) fails on its own.
    #[allow(clippy::type_complexity)]
    fn sub_requests(
        &self,
        req: &ParseRequest,
    ) -> Result<Vec<Result<ParseRequest, ApiError>>, ApiError> {
        let requests = req
            .body
            .get("requests")
            .and_then(Value::as_array)
            .ok_or_else(|| ParseError::invalid_json("requests must be an array"))?;
        let max = req.ctx.app.max_batch;
        if requests.len() > max {
            return Err(ParseError::invalid_json(format!(
                "too many requests in one batch: {} (the maximum is {max})",
                requests.len()
            ))
            .into());
        }
        let mounts = req.ctx.app.mounts();
        requests
            .iter()
            .map(|r| {
                let method = r.get("method").and_then(Value::as_str).unwrap_or_default();
                let path = r.get("path").and_then(Value::as_str).unwrap_or_default();
                let rest = mounts
                    .iter()
                    .find_map(|m| path.strip_prefix(m.as_str()).filter(|r| r.starts_with('/')))
                    .ok_or_else(|| {
                        ParseError::invalid_json(format!("cannot route batch path {path}"))
                    })?;
                let method = Method::from_bytes(method.as_bytes()).map_err(|_| {
                    ParseError::invalid_json(format!("cannot route {method} {path}"))
                })?;
                let route = match Route::parse(&method, rest) {
                    Ok(route) => route,
                    Err(ApiError::NoRoute(what)) => {
                        return Err(ParseError::invalid_json(format!("cannot route {what}")).into())
                    }
                    Err(e) => return Ok(Err(e)),
                };
                if route == Route::Batch {
                    return Err(
                        ParseError::invalid_json("cannot route a batch inside a batch").into(),
                    );
                }
                let body: Map = match r.get("body") {
                    Some(Value::Object(b)) => b.clone(),
                    None | Some(Value::Null) => Map::new(),
                    Some(_) => {
                        return Err(ParseError::invalid_json(
                            "batch request body must be an object",
                        )
                        .into())
                    }
                };
                let (params, body) = if method == Method::GET {
                    (body, Map::new())
                } else {
                    (Map::new(), body)
                };
                Ok(Ok(ParseRequest {
                    method,
                    route,
                    params,
                    body,
                    ctx: req.ctx.clone(),
                    upload: None,
                }))
            })
            .collect()
    }

    pub(crate) async fn batch(&self, req: ParseRequest) -> Result<ParseResponse, ApiError> {
        let subs = self.sub_requests(&req)?;
        let transaction = req.body.get("transaction") == Some(&Value::Bool(true));
        let mut results: Vec<Option<Result<ParseResponse, ApiError>>> =
            (0..subs.len()).map(|_| None).collect();
        let mut routed = Vec::with_capacity(subs.len());
        for (i, sub) in subs.into_iter().enumerate() {
            match sub {
                Ok(r) => routed.push((i, r)),
                Err(e) if transaction => return Err(e),
                Err(e) => results[i] = Some(Err(e)),
            }
        }

        // Validate every write against the current state; reads run alongside.
        let (reads, writes): (Vec<_>, Vec<_>) =
            routed.into_iter().partition(|(_, r)| r.route.is_read());
        let prepared = join_all(
            writes
                .iter()
                .map(|(i, r)| async move { (*i, self.prepare(r).await) }),
        )
        .await;
        let read_answers = join_all(
            reads
                .into_iter()
                .map(|(i, r)| async move { (i, api::Handler::handle(&self.reads, r).await) }),
        )
        .await;
        // Single writes are appended together; a sub-request making several writes (an
        // installation save removing duplicates) is its own transaction unless the whole batch is.
        let mut to_submit = Vec::new();
        let mut slots = Vec::new();
        let mut grouped = Vec::new();
        for (i, p) in prepared {
            match p {
                Ok(p) if transaction || p.writes.len() == 1 => {
                    slots.push((i, to_submit.len() + p.answer, p.extra, p.mails));
                    to_submit.extend(p.writes);
                }
                Ok(p) => grouped.push((i, p)),
                Err(e) if transaction => return Err(e),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let ctx = &req.ctx;
        let grouped_answers = join_all(
            grouped
                .into_iter()
                .map(|(i, p)| async move { (i, self.submit_planned(ctx, p).await) }),
        );
        let answers = async {
            if to_submit.is_empty() {
                Ok(vec![])
            } else {
                self.submit(ctx, to_submit, transaction).await
            }
        };
        let (answers, grouped_answers) = futures::join!(answers, grouped_answers);
        let mut answers: Vec<Option<_>> = answers?.into_iter().map(Some).collect();
        for (i, at, extra, mails) in slots {
            results[i] = answers
                .get_mut(at)
                .and_then(Option::take)
                .map(|a| crate::submit::with_extra(a, &extra));
            if matches!(results[i], Some(Ok(_))) {
                self.send_mails(mails);
            }
        }
        for (i, a) in grouped_answers {
            results[i] = Some(a);
        }
        for (i, a) in read_answers {
            results[i] = Some(a);
        }
        let body: Vec<Value> = results
            .into_iter()
            .map(|r| {
                entry(r.unwrap_or_else(|| Err(ApiError::internal("batch entry without an answer"))))
            })
            .collect();
        Ok(ParseResponse::ok(Value::Array(body)))
    }
}
