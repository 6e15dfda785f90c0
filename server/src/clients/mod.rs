//! Clients of the outside systems the server talks to, built once from configuration and held by the
//! application state: identity's parties (WeChat, FaceID, the housing registry, with the device CA and the PIN
//! hasher) and WeChat Pay. Below every area, so any area may use them.

pub mod identity;
pub mod wechatpay;
