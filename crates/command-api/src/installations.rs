//! Saving an installation (`POST /installations`, `PUT /installations/<id>` and the same on
//! `/classes/_Installation`): looks up the installations the save concerns in the read model,
//! lets `model::installation` decide, and turns the decision into writes — duplicates deleted
//! and the create or update — that `submit` appends as one transaction event.

use api::{ApiError, ParseRequest, ParseResponse, Route};
use model::installation::{self, Target, CLASS};
use model::query::Query;
use model::write::{self, WriteKind as BodyKind};
use model::{code, time};

use crate::objects::{prepare_create, prepare_delete, prepare_update, Planned};
use crate::CommandApi;

impl CommandApi {
    /// The writes an installation save makes, checked against the current read model.
    pub(crate) async fn prepare_installation(
        &self,
        req: &ParseRequest,
    ) -> Result<Planned, ApiError> {
        let object_id = match &req.route {
            Route::Create { .. } => None,
            Route::Update { object_id, .. } => Some(object_id.as_str()),
            other => return Err(ApiError::NoRoute(format!("{} {other:?}", req.method))),
        };
        // Names first, as for any object: a bad key is 105 whatever the ids say.
        let kind = match object_id {
            Some(_) => BodyKind::Update,
            None => BodyKind::Create,
        };
        write::parse_body(&req.body, kind)?;
        let master = req.ctx.auth.is_master();
        let request = installation::normalize(
            object_id,
            req.body.clone(),
            req.ctx.installation_id.as_deref(),
            master,
        )?;
        let schema = self.schema(req, CLASS).await?;
        let app = &req.ctx.app.app_id;
        let store = self.reads.store();
        let (plan, found) = match request.lookup() {
            None => (request.plain(), vec![]),
            Some(filter) => {
                let exists = store
                    .schema(app, CLASS)
                    .await
                    .map_err(ApiError::internal)?
                    .is_some();
                let found = if exists {
                    let query = Query {
                        filter,
                        limit: usize::MAX,
                        ..Query::default()
                    };
                    store
                        .find(app, CLASS, &query)
                        .await
                        .map_err(ApiError::internal)?
                } else {
                    vec![]
                };
                (request.decide(&found)?, found)
            }
        };

        let now = time::to_iso(&chrono::Utc::now());
        let mut writes: Vec<_> = plan
            .deletes
            .iter()
            .map(|id| prepare_delete(CLASS, id))
            .collect();
        writes.push(match &plan.target {
            Target::Create => prepare_create(&schema, CLASS, &plan.body, &now)?,
            Target::Update(id) => {
                let current = match found.iter().find(|o| o.object_id() == id) {
                    Some(o) => o.clone(),
                    None => self.current(req, CLASS, id).await?,
                };
                prepare_update(&schema, CLASS, &current, &plan.body, &now)?
            }
        });
        Ok(Planned {
            answer: writes.len() - 1,
            writes,
            extra: Default::default(),
            mails: Vec::new(),
        })
    }

    /// Saves an installation; a save whose duplicates vanished meanwhile (another save removed
    /// them first) is decided again once on the new state.
    pub(crate) async fn save_installation(
        &self,
        req: &ParseRequest,
    ) -> Result<ParseResponse, ApiError> {
        let planned = self.prepare_installation(req).await?;
        let merged = planned.writes.len() > 1;
        match self.submit_planned(&req.ctx, planned).await {
            Err(e) if merged && e.as_parse_error().code == code::OBJECT_NOT_FOUND => {
                let planned = self.prepare_installation(req).await?;
                self.submit_planned(&req.ctx, planned).await
            }
            other => other,
        }
    }
}
