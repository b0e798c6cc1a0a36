//! Who a session token is: the token's hash finds its `_Session` in the read model, the
//! session names its user, and the user's roles are resolved through the `_Role` relations
//! (inheritance included, cycles cut). The answer is cached per token, so a known token costs no
//! database round trip; announcements of committed session, user and role changes
//! (`ReadStore::auth_changes`) evict what they touch.

use std::collections::BTreeSet;
use std::sync::Arc;

use api::{ApiError, Auth, ParseRequest, RequestContext, UserAuth};
use dashmap::DashMap;
use model::query::{Cond, Filter, Query};
use model::user::{token_hash, ROLE_CLASS, SESSION_CLASS, TOKEN_HASH, USER_CLASS};
use model::{code, ParseError};
use readmodel::{AuthChange, ReadStore};
use serde_json::{json, Value};

use crate::{store_error, QueryApi};

/// The most sessions one process remembers; past it the cache starts over (each session is
/// then resolved once more), so memory stays bounded whatever the number of log-ins.
const MAX_CACHED: usize = 100_000;

struct Cached {
    auth: Arc<UserAuth>,
    /// The session's `expiresAt` (ISO), if it has one.
    expires_at: Option<String>,
}

/// Resolved sessions by token hash.
#[derive(Default)]
pub struct SessionCache {
    by_token: DashMap<String, Cached>,
}

impl SessionCache {
    /// Evicts what a committed change may have made stale.
    pub fn forget(&self, change: &AuthChange) {
        match (change.class.as_str(), change.object_id.as_deref()) {
            (SESSION_CLASS, Some(id)) => self.by_token.retain(|_, c| c.auth.session_id != id),
            (USER_CLASS, Some(id)) => self.by_token.retain(|_, c| c.auth.user_id != id),
            // Role membership can reach anyone; whole-class changes and lost notifications too.
            _ => self.by_token.clear(),
        }
    }

    /// Follows a store's announcements for as long as the process runs.
    pub fn follow(self: &Arc<Self>, store: &dyn ReadStore) {
        let Some(mut changes) = store.auth_changes() else {
            return;
        };
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let change = match changes.recv().await {
                    Ok(c) => c,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => AuthChange {
                        app: String::new(),
                        class: String::new(),
                        object_id: None,
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                match cache.upgrade() {
                    Some(c) => c.forget(&change),
                    None => return,
                }
            }
        });
    }
}

pub(crate) fn invalid_token() -> ApiError {
    ParseError::new(code::INVALID_SESSION_TOKEN, "Invalid session token").into()
}

fn eq(path: &str, value: Value) -> Filter {
    Filter::Field {
        path: path.to_string(),
        cond: Cond::Eq(value),
    }
}

impl QueryApi {
    /// Turns the request's session token into `Auth::User` (the master key needs none).
    /// An unknown or expired token is 209.
    pub async fn authenticate(&self, req: &mut ParseRequest) -> Result<(), ApiError> {
        if req.ctx.auth.is_master() || matches!(req.ctx.auth, Auth::User(_)) {
            return Ok(());
        }
        let Some(token) = req.ctx.session_token.clone() else {
            return Ok(());
        };
        let auth = self.session(&req.ctx, &token).await?;
        req.ctx.auth = Auth::User(auth);
        Ok(())
    }

    /// The user a session token stands for.
    pub async fn session(
        &self,
        ctx: &RequestContext,
        token: &str,
    ) -> Result<Arc<UserAuth>, ApiError> {
        let hash = token_hash(token);
        let now = model::time::to_iso(&chrono::Utc::now());
        if let Some(c) = self.sessions.by_token.get(&hash) {
            if c.expires_at.as_deref().is_some_and(|e| e <= now.as_str()) {
                return Err(expired());
            }
            return Ok(c.auth.clone());
        }
        let app = &ctx.app.app_id;
        let query = Query {
            filter: eq(TOKEN_HASH, json!(hash)),
            limit: 1,
            ..Query::default()
        };
        let session = self
            .store
            .find(app, SESSION_CLASS, &query)
            .await
            .map_err(store_error)?
            .into_iter()
            .next()
            .ok_or_else(invalid_token)?;
        let user_id = session
            .get("user")
            .and_then(|u| u.get("objectId"))
            .and_then(Value::as_str)
            .ok_or_else(invalid_token)?
            .to_string();
        let expires_at = session
            .get("expiresAt")
            .and_then(|e| e.get("iso"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if expires_at.as_deref().is_some_and(|e| e <= now.as_str()) {
            return Err(expired());
        }
        let anonymous = self
            .store
            .get(app, USER_CLASS, &user_id)
            .await
            .map_err(store_error)?
            .ok_or_else(invalid_token)?
            .get("authData")
            .and_then(|a| a.get("anonymous"))
            .is_some_and(|a| !a.is_null());
        let auth = Arc::new(UserAuth {
            roles: self.roles_of(app, &user_id).await?,
            user_id,
            session_id: session.object_id().to_string(),
            restricted: session.get("restricted") == Some(&json!(true)),
            anonymous,
        });
        if self.sessions.by_token.len() >= MAX_CACHED {
            self.sessions.by_token.clear();
        }
        self.sessions.by_token.insert(
            hash,
            Cached {
                auth: auth.clone(),
                expires_at,
            },
        );
        Ok(auth)
    }

    /// The names of the roles `user_id` holds: those whose `users` hold them, then every role
    /// whose `roles` hold one of those, until nothing new comes (a cycle ends it).
    pub async fn roles_of(&self, app: &str, user_id: &str) -> Result<Vec<String>, ApiError> {
        let store = &self.store;
        let mut ids: BTreeSet<String> = store
            .owners(app, ROLE_CLASS, "users", &[user_id.to_string()])
            .await
            .map_err(store_error)?
            .into_iter()
            .collect();
        let mut frontier: Vec<String> = ids.iter().cloned().collect();
        while !frontier.is_empty() {
            let parents = store
                .owners(app, ROLE_CLASS, "roles", &frontier)
                .await
                .map_err(store_error)?;
            frontier = parents
                .into_iter()
                .filter(|p| ids.insert(p.clone()))
                .collect();
        }
        let ids: Vec<String> = ids.into_iter().collect();
        let mut names: Vec<String> = store
            .get_many(app, ROLE_CLASS, &ids)
            .await
            .map_err(store_error)?
            .iter()
            .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Drops what this process knows of a session (after its own logout, before answering).
    pub fn forget_session(&self, app: &str, session_id: &str) {
        self.sessions.forget(&AuthChange {
            app: app.to_string(),
            class: SESSION_CLASS.to_string(),
            object_id: Some(session_id.to_string()),
        });
    }
}

fn expired() -> ApiError {
    ParseError::new(code::INVALID_SESSION_TOKEN, "Session token is expired.").into()
}
