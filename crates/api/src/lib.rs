//! The HTTP layer every Chronicle API process shares: configuration of the app and its keys,
//! request normalisation (headers, basic auth, the JS SDK's body-tunnelled form, `_method`),
//! authentication, routing of Parse paths, CORS, and the one mapping from errors to Parse JSON.

mod config;
mod error;
mod request;
mod route;
mod server;

pub use config::{AppConfig, UserEmails};
pub use error::ApiError;
pub use request::{encode_component, Auth, ParseRequest, RequestContext, Upload, UserAuth};
pub use route::{PublicPage, Route};
pub use server::{router, Handler, ParseResponse, RawBody};
