//! Python values to JSON and back.
//!
//! Context, user context and inline policies are JSON in the core, which walks them
//! (`act_core::client::to_json`: the depth and size limits, the error wording and the path of a
//! bad value, `context['when']`, are the core's). This module only says what a Python value is:
//! `dict`/`list`/`tuple`/`str`/`int`/`float`/`bool`/`None` and their subclasses (such as `str`
//! enums), and any other mapping. A type JSON has no place for is a `TypeError`; a value JSON
//! cannot hold (NaN, an integer over 64 bits) or past a limit is a `ConfigError`.

use crate::errors;
use act_core::client::{ConvertError, HostTree, Key, Shape};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::iter::{BoundDictIterator, BoundListIterator, BoundTupleIterator};
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use serde_json::{Map, Value};

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| format!("a `{n}`"))
        .unwrap_or_else(|_| "an object".into())
}

fn key(k: &Bound<'_, PyAny>) -> PyResult<Key> {
    Ok(match k.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(type_name(k)),
    })
}

/// A Python value as the core's conversion walks it (a newtype: the orphan rule).
struct PyValue<'py>(Bound<'py, PyAny>);

/// The items of a `list` or `tuple`.
enum Items<'py> {
    List(BoundListIterator<'py>),
    Tuple(BoundTupleIterator<'py>),
}

impl<'py> Iterator for Items<'py> {
    type Item = PyResult<PyValue<'py>>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Items::List(i) => i.next(),
            Items::Tuple(i) => i.next(),
        }
        .map(|v| Ok(PyValue(v)))
    }
}

/// The entries of a `dict`, or of any other mapping (its `items()`).
enum Entries<'py> {
    Dict(BoundDictIterator<'py>),
    Mapping(BoundListIterator<'py>),
}

impl<'py> Iterator for Entries<'py> {
    type Item = PyResult<(Key, PyValue<'py>)>;
    fn next(&mut self) -> Option<Self::Item> {
        let (k, v) = match self {
            Entries::Dict(d) => d.next()?,
            Entries::Mapping(items) => match items.next()?.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>() {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e)),
            },
        };
        Some(key(&k).map(|k| (k, PyValue(v))))
    }
}

impl<'py> HostTree for PyValue<'py> {
    type Error = PyErr;
    type Items<'a>
        = Items<'py>
    where
        Self: 'a;
    type Entries<'a>
        = Entries<'py>
    where
        Self: 'a;
    fn shape(&self) -> PyResult<Shape<Items<'py>, Entries<'py>>> {
        let obj = &self.0;
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Shape::Text(s.to_cow()?.into_owned()));
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return Ok(Shape::Bool(b.is_true()));
        }
        if obj.is_instance_of::<PyInt>() {
            return Ok(match (obj.extract::<i64>(), obj.extract::<u64>()) {
                (Ok(i), _) => Shape::Int(i),
                (_, Ok(u)) => Shape::UInt(u),
                _ => Shape::BigInt,
            });
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return Ok(Shape::Float(f.value()));
        }
        if obj.is_none() {
            return Ok(Shape::Null);
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            return Ok(Shape::Map(Entries::Dict(d.iter())));
        }
        if let Ok(l) = obj.cast::<PyList>() {
            return Ok(Shape::List(Items::List(l.iter())));
        }
        if let Ok(t) = obj.cast::<PyTuple>() {
            return Ok(Shape::List(Items::Tuple(t.iter())));
        }
        if let Ok(m) = obj.cast::<PyMapping>() {
            return Ok(Shape::Map(Entries::Mapping(m.items()?.iter())));
        }
        Ok(Shape::Other(type_name(obj)))
    }
}

fn raise(py: Python<'_>, e: ConvertError<PyErr>) -> PyErr {
    match e {
        ConvertError::Type(m) => PyTypeError::new_err(m),
        ConvertError::Value(m) => errors::config(py, m),
        ConvertError::Host(e) => e,
    }
}

/// Any JSON value (an inline policy); `name` names the argument in errors.
pub(crate) fn to_json(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Value> {
    act_core::client::to_json(&PyValue(obj.clone()), name).map_err(|e| raise(obj.py(), e))
}

/// A JSON object from a `dict` or any other mapping; `None` is empty.
pub(crate) fn to_map(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Map<String, Value>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Map::new());
    };
    // The common case, a dict, goes straight to its entries (the validate path).
    let result = match obj.cast::<PyDict>() {
        Ok(d) => act_core::client::entries_to_object(Entries::Dict(d.iter()), name),
        Err(_) => act_core::client::to_object(&PyValue(obj.clone()), name),
    };
    result.map_err(|e| raise(obj.py(), e))
}

/// A JSON value as a Python object.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            PyList::new(py, items.iter().map(|i| to_py(py, i)).collect::<PyResult<Vec<_>>>()?)?.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}
