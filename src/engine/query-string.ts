/** The query string of `query`, with a leading `?`, or `""`. */
export function queryString(query: Readonly<Record<string, unknown>> | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) params.append(key, String(item));
    } else if (typeof value === "object") {
      params.append(key, JSON.stringify(value));
    } else {
      params.append(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** The query's keys for the debug log: values such as build args may hold secrets. */
export function queryKeys(query: Readonly<Record<string, unknown>> | undefined): string {
  const keys = Object.entries(query ?? {})
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key]) => key);
  return keys.length > 0 ? ` [query: ${keys.join(", ")}]` : "";
}
