//! Query-string parameters of the list endpoints: paging (§1.6, §11 #2) and app filters.

use crate::envelope::ApiError;

/// Largest `per_page` any list accepts.
pub(crate) const MAX_PER_PAGE: usize = 1000;
/// `per_page` defaults: apps (§11 #2), reusable policies and app-scoped policies (S26).
pub(crate) const APPS_PER_PAGE: usize = 25;
pub(crate) const POLICIES_PER_PAGE: usize = 100;
pub(crate) const APP_POLICIES_PER_PAGE: usize = 200;

/// Decoded `key=value` pairs.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        match raw {
            None | Some("") => Ok(Query(Vec::new())),
            Some(q) => serde_urlencoded::from_str(q)
                .map(Query)
                .map_err(|_| ApiError::invalid("query string is not valid")),
        }
    }

    /// Last value of `key` (repeats override earlier ones).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `page` ≥ 1 and `per_page` in 1..=1000; anything else is a 400.
    pub fn paging(&self, default_per_page: usize) -> Result<Paging, ApiError> {
        let int = |key: &str, default: usize| -> Result<usize, ApiError> {
            match self.get(key) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        ApiError::invalid(format!(
                            "{key}: '{v}' is not a valid value (must be a positive integer)"
                        ))
                    }),
            }
        };
        let page = int("page", 1)?;
        if page < 1 {
            return Err(ApiError::invalid("page: must be at least 1"));
        }
        let per_page = int("per_page", default_per_page)?;
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::invalid(format!(
                "per_page: must be between 1 and {MAX_PER_PAGE}"
            )));
        }
        Ok(Paging { page, per_page })
    }

    /// `exact=true|1` switches name/domain matching from substring to equality.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(false),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(v) => Err(ApiError::invalid(format!("{key}: '{v}' is not a boolean"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    pub page: usize,
    pub per_page: usize,
}

impl Paging {
    /// Items to skip before this page.
    pub fn offset(&self) -> usize {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_bounds() {
        let p = |q: &str| Query::parse(Some(q)).unwrap().paging(25);
        assert_eq!(
            p("").unwrap(),
            Paging {
                page: 1,
                per_page: 25
            }
        );
        assert_eq!(
            p("page=3&per_page=1000").unwrap(),
            Paging {
                page: 3,
                per_page: 1000
            }
        );
        for bad in [
            "page=0",
            "per_page=0",
            "per_page=1001",
            "page=-1",
            "page=x",
            "per_page=2.5",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
        assert_eq!(p("page=2&per_page=10").unwrap().offset(), 10);
    }

    #[test]
    fn decodes_values() {
        let q = Query::parse(Some("name=Company%20wiki&exact=true")).unwrap();
        assert_eq!(q.get("name"), Some("Company wiki"));
        assert!(q.flag("exact").unwrap());
        assert!(q.flag("missing").is_ok_and(|f| !f));
    }
}
