//! Submitting writes: append their events in one group, wait for the projector's outcome of
//! each, and turn outcomes into Parse answers.

use api::{ApiError, ParseResponse, RequestContext};
use events::{Actor, Event, Origin, Write, WriteKind};
use model::outcome::{Outcome, WriteResult};
use model::{code, time, ParseError};
use serde_json::{json, Value};

use crate::objects::{Planned, Prepared};
use crate::CommandApi;

pub(crate) fn origin(ctx: &RequestContext) -> Origin {
    let mut actor = match &ctx.auth {
        api::Auth::Master => Actor::master(),
        api::Auth::Public => Actor::public(),
        api::Auth::User(u) => Actor {
            kind: "user".into(),
            user_id: Some(u.user_id.clone()),
            installation_id: None,
            roles: u.roles.clone(),
        },
    };
    actor.installation_id = ctx.installation_id.clone();
    Origin {
        app: ctx.app.app_id.clone(),
        at: time::to_iso(&chrono::Utc::now()),
        actor,
        request_id: ctx.request_id.clone(),
    }
}

/// Adds a request's extra answer fields to its answer.
pub(crate) fn with_extra(
    answer: Result<ParseResponse, ApiError>,
    extra: &model::Map,
) -> Result<ParseResponse, ApiError> {
    let mut answer = answer?;
    if let Value::Object(body) = &mut answer.body {
        body.extend(extra.clone());
    }
    Ok(answer)
}

/// The answer Parse gives for one applied write.
fn answer(ctx: &RequestContext, w: &Write, r: &WriteResult) -> ParseResponse {
    let mut body = serde_json::Map::new();
    match w.kind {
        WriteKind::Create => {
            body.insert("objectId".into(), json!(r.object_id));
            body.insert("createdAt".into(), json!(r.created_at));
            body.extend(r.results.clone());
            // Parse Server's users live at `/users/<id>`, every other class at `/classes/…`.
            let location = match w.class.as_str() {
                model::user::USER_CLASS => format!("{}/users/{}", ctx.server_url, r.object_id),
                class => format!("{}/classes/{class}/{}", ctx.server_url, r.object_id),
            };
            ParseResponse::created(Value::Object(body), location)
        }
        WriteKind::Update => {
            body.insert("updatedAt".into(), json!(r.updated_at));
            body.extend(r.results.clone());
            ParseResponse::ok(Value::Object(body))
        }
        WriteKind::Delete => ParseResponse::ok(json!({})),
    }
}

impl CommandApi {
    /// Appends the writes (one event each, or one transaction event) and waits for them to be
    /// projected. Returns one answer per write, in order.
    pub(crate) async fn submit(
        &self,
        ctx: &RequestContext,
        prepared: Vec<Prepared>,
        transaction: bool,
    ) -> Result<Vec<Result<ParseResponse, ApiError>>, ApiError> {
        let origin = origin(ctx);
        let mut changed: Vec<String> = prepared
            .iter()
            .filter(|p| p.new_fields)
            .map(|p| p.write.class.clone())
            .collect();
        changed.dedup();
        let writes: Vec<Write> = prepared.into_iter().map(|p| p.write).collect();
        let events: Vec<Event> = if transaction {
            vec![Event::transaction(origin, writes.clone())]
        } else {
            writes
                .iter()
                .map(|w| Event::object(origin.clone(), w.clone()))
                .collect()
        };
        let mut outcomes = self.append_and_wait(ctx, events).await?;
        // The projector changed these schemas; a cached copy must not answer this client's next
        // request (read-your-writes for schemas, whatever the order notifications arrive in).
        for class in &changed {
            self.reads.store().schema_changed(&ctx.app.app_id, class);
        }
        if transaction {
            return Ok(match outcomes.pop() {
                Some(Outcome::Applied { writes: results }) => writes
                    .iter()
                    .zip(results.iter())
                    .map(|(p, r)| Ok(answer(ctx, p, r)))
                    .collect(),
                Some(Outcome::Rejected { error, .. }) => return Err(error.into()),
                None => return Err(ApiError::internal("no outcome for a transaction")),
            });
        }
        Ok(writes
            .iter()
            .zip(outcomes)
            .map(|(p, outcome)| match outcome {
                Outcome::Applied { writes: results } => results
                    .first()
                    .map(|r| answer(ctx, p, r))
                    .ok_or_else(|| ApiError::internal("no result for a write")),
                Outcome::Rejected { error, .. } => Err(error.into()),
            })
            .collect())
    }

    /// Submits one request's writes (several as one transaction) and returns its answer, with
    /// the request's extra answer fields (a new session token, say).
    pub(crate) async fn submit_planned(
        &self,
        ctx: &RequestContext,
        planned: Planned,
    ) -> Result<ParseResponse, ApiError> {
        let transaction = planned.writes.len() > 1;
        let answer = planned.answer;
        let mut answers = self.submit(ctx, planned.writes, transaction).await?;
        if answer >= answers.len() {
            return Err(ParseError::internal("no answer for a write").into());
        }
        let answer = with_extra(answers.swap_remove(answer), &planned.extra);
        if answer.is_ok() {
            self.send_mails(planned.mails);
        }
        answer
    }

    /// Appends `events` and waits until the projector has decided each; their outcomes, in order.
    pub(crate) async fn append_and_wait(
        &self,
        ctx: &RequestContext,
        events: Vec<Event>,
    ) -> Result<Vec<Outcome>, ApiError> {
        let waits: Vec<_> = events
            .iter()
            .map(|e| (e.id, self.outcomes.wait_for(e.id)))
            .collect();
        let started = std::time::Instant::now();
        if let Err(e) = self.log.append(events).await {
            for (id, _) in &waits {
                self.outcomes.cancel(id);
            }
            return Err(ApiError::internal(e));
        }
        let appended = started.elapsed();
        let timeout = ctx.app.projection_timeout;
        let mut outcomes = Vec::with_capacity(waits.len());
        for (id, rx) in waits {
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(outcome)) => outcomes.push(outcome),
                Ok(Err(_)) => return Err(ApiError::internal("the projector stopped")),
                Err(_) => {
                    self.outcomes.cancel(&id);
                    return Err(ParseError::new(
                        code::TIMEOUT,
                        "The write is recorded but was not applied in time; it will be applied.",
                    )
                    .into());
                }
            }
        }
        tracing::debug!(
            append_ms = appended.as_secs_f64() * 1e3,
            projected_ms = (started.elapsed() - appended).as_secs_f64() * 1e3,
            "write acknowledged"
        );
        Ok(outcomes)
    }
}
