/**
 * PostgreSQL array literals for append_batch's parameters, written here: node-postgres'
 * own conversion walks every element through its generic value conversion, about 1 µs an
 * element (measured: 2–10 ms for one batch of 512 appends), which the group commit's
 * batches cannot afford.
 */

/** `{1,2,3}`: integers or doubles (finite, as every column given here is). */
export function numberArray(values: readonly number[]): string {
  return `{${values.join(",")}}`;
}

/**
 * `{"a","b\"c",NULL}`: every element quoted, backslashes and quotes escaped (array_in's
 * rules); undefined is NULL.
 */
export function textArray(values: readonly (string | undefined)[]): string {
  let literal = "{";
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) literal += ",";
    if (value === undefined) literal += "NULL";
    else literal += '"' + (/[\\"]/.test(value) ? value.replace(/[\\"]/g, "\\$&") : value) + '"';
  }
  return literal + "}";
}
