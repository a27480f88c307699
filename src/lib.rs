pub mod protocol;
pub mod wire;
