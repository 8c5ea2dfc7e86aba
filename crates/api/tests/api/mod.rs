mod admin;
mod lifecycle;
mod otlp;
mod query;
mod remote_write;
mod series;
mod status;
mod support;
