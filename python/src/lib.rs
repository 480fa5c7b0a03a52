//! `spate._native`: the Rust half of the `spate` Python package. It converts arguments,
//! results and errors; the scanning, selecting and validating are the `spate` library's.

mod agents;
mod build;
mod columnar;
mod engine;
mod errors;
mod events;
mod items;
mod query;
mod schema;
mod source;
mod tape;
mod whole;
mod whole_items;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("JSONError", m.py().get_type::<errors::JSONError>())?;
    m.add("DEFAULT_MAX_ITEM_SIZE", spate::DEFAULT_MAX_ITEM_SIZE)?;
    m.add("DEFAULT_MAX_DEPTH", spate_json::DEFAULT_MAX_DEPTH)?;
    m.add_class::<engine::Results>()?;
    m.add_function(wrap_pyfunction!(items::items, m)?)?;
    m.add_function(wrap_pyfunction!(items::validate, m)?)?;
    m.add_class::<events::Events>()?;
    m.add_function(wrap_pyfunction!(events::events, m)?)?;
    m.add_function(wrap_pyfunction!(query::query, m)?)?;
    m.add_function(wrap_pyfunction!(schema::schema, m)?)?;
    m.add_function(wrap_pyfunction!(agents::agents_report, m)?)?;
    m.add_class::<columnar::ArrowBatches>()?;
    m.add_class::<columnar::ArrowBatch>()?;
    m.add_function(wrap_pyfunction!(columnar::convert, m)?)?;
    m.add_function(wrap_pyfunction!(columnar::arrow_batches, m)?)?;
    Ok(())
}
