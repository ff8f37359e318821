"""360Giving in and out: import funders' published grant files (JSON, CSV, XLSX) exactly and safely,
and export grants as 360Giving data that the standard's own tools accept."""
