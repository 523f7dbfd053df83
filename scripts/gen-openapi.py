"""Generates the OpenAPI document: python3 scripts/gen-openapi.py > crates/server/openapi.json

The server serves crates/server/openapi.json; the API tests check that it describes every route.
"""
import json
err = {"$ref": "#/components/responses/Error"}
def errors(*codes):
    return {str(c): err for c in codes}
def page_params():
    return [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/from"}, {"$ref": "#/components/parameters/sortBy"}]
idp = {"name": "id", "in": "path", "required": True, "description": "Steward's id or the record's externalId", "schema": {"type": "string"}}
def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def ok(schema, desc="OK"): return {"200": {"description": desc, "content": {"application/json": {"schema": schema}}}}
def body(schema): return {"required": True, "content": {"application/json": {"schema": schema}}}
def listing(name): return {"type": "object", "properties": {"results": {"type": "array", "items": ref(name)}, "next": {"type": ["string", "null"], "description": "cursor for `from`; null on the last page"}}, "required": ["results", "next"]}
deleted = {"type": "object", "properties": {"id": {"type": "string"}, "deleted": {"type": "boolean"}}}
sec = [{"basic": []}, {"bearer": []}]
paths = {}
def resource(coll, schema, write_schema, tag, create_desc, extra_get=None, id_desc=None, delete_params=None):
    paths[f"/resources/{coll}"] = {
        "get": {"tags": [tag], "summary": f"List {coll}, newest first", "parameters": page_params(), "responses": {**ok(listing(schema)), **errors(400, 401)}},
        "post": {"tags": [tag], "summary": create_desc, "requestBody": body(ref(write_schema)), "responses": {**ok(ref(schema)), **errors(400, 401, 403, 409, 413)}},
    }
    p = dict(idp)
    if id_desc: p = {**idp, "description": id_desc}
    paths[f"/resources/{coll}/{{id}}"] = {
        "parameters": [p],
        "get": {"tags": [tag], "summary": f"Get one", "responses": {**ok(ref(schema)), **errors(401, 404)}},
        "put": {"tags": [tag], "summary": "Update (traits merge; a trait set to null is deleted)", "requestBody": body(ref(write_schema)), "responses": {**ok(ref(schema)), **errors(400, 401, 403, 404, 409, 413)}},
        "patch": {"tags": [tag], "summary": "Same as PUT", "requestBody": body(ref(write_schema)), "responses": {**ok(ref(schema)), **errors(400, 401, 403, 404, 409, 413)}},
        "delete": {"tags": [tag], "summary": "Delete", "parameters": delete_params or [], "responses": {**ok(deleted), **errors(401, 403, 404)}},
    }
resource("organizations", "Organization", "OrganizationWrite", "organizations", "Create, or update the organization with this externalId",
         delete_params=[{"name": "cascade", "in": "query", "schema": {"type": "boolean"}, "description": "also delete the accounts (and their users that belong nowhere else); by default accounts are detached"}])
resource("accounts", "Account", "AccountWrite", "accounts", "Create, or update the account with this externalId")
resource("users", "User", "UserWrite", "users", "Create, or update the user with this externalId")
resource("admins", "Admin", "AdminWrite", "admins", "Create a team member", id_desc="the team member's id")
resource("customFields", "CustomField", "CustomFieldWrite", "customFields", "Define a custom trait", id_desc="the custom field's id")
paths["/resources/customFields"]["get"] = {"tags": ["customFields"], "summary": "Custom trait definitions, a bare array sorted by label", "parameters": [{"name": "model", "in": "query", "schema": {"type": "string", "enum": ["organizations", "accounts", "users", "customObjects"]}}, {"name": "customObjectId", "in": "query", "schema": {"type": "string"}, "description": "the custom object's id or name; required with model=customObjects"}], "responses": {**ok({"type": "array", "items": ref("CustomField")}), **errors(400, 401)}}
for parent, child, schema in [("organizations", "accounts", "Account"), ("organizations", "users", "User"), ("accounts", "users", "User")]:
    paths[f"/resources/{parent}/{{id}}/{child}"] = {"parameters": [idp], "get": {"tags": [parent], "summary": f"The {child} of one of the {parent}" + (" (direct and through its accounts)" if (parent, child) == ("organizations", "users") else ""), "parameters": page_params(), "responses": {**ok(listing(schema)), **errors(400, 401, 404)}}}
paths["/resources/users/search"] = {"get": {"tags": ["users"], "summary": "Find users by exactly one of email, externalId, emailSubdomain", "parameters": [
    {"name": "email", "in": "query", "schema": {"type": "string"}}, {"name": "externalId", "in": "query", "schema": {"type": "string"}}, {"name": "emailSubdomain", "in": "query", "schema": {"type": "string"}, "description": "domain; matches it and its subdomains"}],
    "responses": {**ok({"type": "object", "properties": {"results": {"type": "array", "items": ref("User")}}}), **errors(400, 401)}}}
paths["/resources/admins/search"] = {"get": {"tags": ["admins"], "summary": "Find a team member by e-mail (answers the object itself)", "parameters": [{"name": "email", "in": "query", "required": True, "schema": {"type": "string"}}], "responses": {**ok(ref("Admin")), **errors(400, 401, 404)}}}
# Custom objects and their instances.
resource("customObjects", "CustomObject", "CustomObjectWrite", "customObjects", "Define a custom object", id_desc="the custom object's id or name")
del paths["/resources/customObjects/{id}"]["put"]["requestBody"]
for m in ["put", "patch"]:
    paths["/resources/customObjects/{id}"][m] = {**paths["/resources/customObjects/{id}"][m], "summary": "Change the label; `customFields` replaces the definitions (kept keys keep their id)" if m == "put" else "Same as PUT", "requestBody": body(ref("CustomObjectUpdate"))}
paths["/resources/customObjects/{id}"]["delete"]["summary"] = "Delete the object, its field definitions and all its instances"
objp = {**idp, "description": "the custom object's id or name"}
instp = {"name": "instanceId", "in": "path", "required": True, "description": "the instance's id or externalId", "schema": {"type": "string"}}
archived = {"name": "archived", "in": "query", "schema": {"type": "boolean", "default": False}, "description": "true lists only archived instances; by default only live ones"}
paths["/resources/customObjects/{id}/instances"] = {"parameters": [objp],
    "get": {"tags": ["customObjects"], "summary": "The object's instances, newest first", "parameters": page_params() + [archived], "responses": {**ok(listing("CustomObjectInstance")), **errors(400, 401, 404)}},
    "post": {"tags": ["customObjects"], "summary": "Create an instance, or update (and restore) the one with this externalId", "requestBody": body(ref("CustomObjectInstanceWrite")), "responses": {**ok(ref("CustomObjectInstance")), **errors(400, 401, 403, 404, 409, 413)}}}
paths["/resources/customObjects/{id}/instances/search"] = {"parameters": [objp], "get": {"tags": ["customObjects"], "summary": "Find instances by exactly one of id, externalId, customerId (or accountId), organizationId, customFieldId+customFieldValue; a bare array of at most 100", "parameters": [
    {"name": n, "in": "query", "schema": {"type": "string"}} for n in ["id", "externalId", "customerId", "accountId", "organizationId", "customFieldId", "customFieldValue"]] + [archived],
    "responses": {**ok({"type": "array", "items": ref("CustomObjectInstance")}), **errors(400, 401, 404)}}}
paths["/resources/customObjects/{id}/instances/{instanceId}"] = {"parameters": [objp, instp],
    "get": {"tags": ["customObjects"], "summary": "Get one (archived ones too)", "responses": {**ok(ref("CustomObjectInstance")), **errors(401, 404)}},
    "put": {"tags": ["customObjects"], "summary": "Update (traits merge; a trait set to null is deleted; a parent set to null is detached, one must remain)", "requestBody": body(ref("CustomObjectInstanceWrite")), "responses": {**ok(ref("CustomObjectInstance")), **errors(400, 401, 403, 404, 409, 413)}},
    "patch": {"tags": ["customObjects"], "summary": "Same as PUT", "requestBody": body(ref("CustomObjectInstanceWrite")), "responses": {**ok(ref("CustomObjectInstance")), **errors(400, 401, 403, 404, 409, 413)}},
    "delete": {"tags": ["customObjects"], "summary": "Archive (sets archivedAt)", "responses": {**ok(deleted), **errors(401, 403, 404)}}}
for parent in ["accounts", "organizations"]:
    paths[f"/resources/{parent}/{{id}}/customObjects/{{objectId}}/instances"] = {"parameters": [idp, {"name": "objectId", "in": "path", "required": True, "description": "the custom object's id or name", "schema": {"type": "string"}}],
        "get": {"tags": [parent], "summary": f"The instances of one custom object attached to one of the {parent}", "parameters": page_params() + [archived], "responses": {**ok(listing("CustomObjectInstance")), **errors(400, 401, 404)}}}
paths["/healthz"] = {"get": {"tags": ["system"], "summary": "200 once the server is ready", "security": [], "responses": ok({"type": "object", "properties": {"status": {"type": "string"}}})}}
paths["/openapi.json"] = {"get": {"tags": ["system"], "summary": "This document", "security": [], "responses": ok({"type": "object"})}}

ts = {"type": "string", "format": "date-time", "description": "ISO-8601 UTC with milliseconds and Z"}
traits = {"type": "object", "additionalProperties": True, "description": "custom key/values; values keep their JSON types"}
schemas = {
  "Error": {"type": "object", "required": ["error", "code", "message"], "properties": {
      "error": {"type": "string", "description": "stable snake_case code", "enum": ["invalid_json", "invalid_field", "missing_field", "invalid_reference", "invalid_query", "invalid_cursor", "unauthorized", "forbidden", "not_found", "method_not_allowed", "conflict", "payload_too_large", "unsupported_media_type", "rate_limited", "internal", "unavailable"]},
      "code": {"type": "string", "description": "same as error (for Segment-spec clients)"},
      "message": {"type": "string", "description": "human-readable, names the field at fault"},
      "field": {"type": "string", "description": "the input field at fault, when there is one"}}},
  "Organization": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "externalId": {"type": "string"}, "name": {"type": "string"}, "traits": traits, "createdAt": ts, "updatedAt": ts, "accountsCount": {"type": "integer"}, "firstSeenTimestamp": {"type": ["string", "null"]}, "lastSeenTimestamp": {"type": ["string", "null"]}, "usersCount": {"type": "integer", "description": "distinct users, direct and through accounts"}}},
  "OrganizationWrite": {"type": "object", "required": ["externalId", "name"], "description": "externalId and name are required on POST; on PUT every member is optional and externalId cannot change", "properties": {"externalId": {"type": "string"}, "name": {"type": "string"}, "traits": traits}},
  "Account": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "externalId": {"type": "string"}, "name": {"type": "string"}, "traits": traits, "organizationId": {"type": ["string", "null"]}, "createdAt": ts, "updatedAt": ts, "usersCount": {"type": "integer"}, "firstSeenTimestamp": {"type": ["string", "null"]}, "lastSeenTimestamp": {"type": ["string", "null"]}}},
  "AccountWrite": {"type": "object", "required": ["externalId", "name"], "properties": {"externalId": {"type": "string"}, "name": {"type": "string"}, "traits": traits, "organizationId": {"type": ["string", "null"], "description": "the organization's id or externalId; null detaches"}, "accountOwnerId": {"type": ["string", "null"]}}},
  "User": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "externalId": {"type": "string"}, "name": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]}, "avatar": {"type": ["string", "null"]}, "traits": traits, "joinDate": {"type": ["string", "null"], "format": "date-time"}, "unsubscribedFromConversations": {"type": "boolean"}, "firstKnown": {"type": ["string", "null"]}, "lastSeenTimestamp": {"type": ["string", "null"]}, "accountIds": {"type": "array", "items": {"type": "string"}}, "organizationIds": {"type": "array", "items": {"type": "string"}, "description": "direct links and the organizations of the user's accounts"}, "createdAt": ts, "updatedAt": ts}},
  "UserWrite": {"type": "object", "required": ["externalId"], "properties": {"externalId": {"type": "string"}, "name": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]}, "avatar": {"type": ["string", "null"]}, "traits": traits, "accountIds": {"type": "array", "items": {"type": "string"}, "description": "ids or externalIds; replaces the user's accounts"}, "organizationIds": {"type": "array", "items": {"type": "string"}, "description": "direct organization links; replaces them"}, "joinDate": {"type": ["string", "null"]}, "unsubscribedFromConversations": {"type": "boolean"}}},
  "Admin": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"}, "licenseStatus": {"type": "string", "enum": ["active", "deactivated", "auto-created"]}, "createdAt": ts, "updatedAt": ts}},
  "AdminWrite": {"type": "object", "required": ["name", "email"], "properties": {"name": {"type": "string"}, "email": {"type": "string"}, "licenseStatus": {"type": "string", "enum": ["active", "deactivated", "auto-created"]}}},
  "CustomField": {"type": "object", "properties": {"id": {"type": "string"}, "model": {"type": "string"}, "customObjectId": {"type": "string", "description": "model customObjects only"}, "key": {"type": "string"}, "path": {"type": "string", "description": "the trait key (same as key)"}, "label": {"type": "string"}, "type": {"type": "string"}, "description": {"type": ["string", "null"]}, "options": {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"}, "value": {"type": "string"}}}}, "createdAt": ts, "updatedAt": ts}},
  "CustomFieldWrite": {"type": "object", "required": ["model", "key", "type"], "properties": {"model": {"type": "string", "enum": ["organizations", "accounts", "users", "customObjects"]}, "customObjectId": {"type": "string", "description": "with model=customObjects: the object's id or name"}, "key": {"type": "string"}, "label": {"type": "string"}, "type": {"type": "string", "enum": ["string", "number", "boolean", "date", "textarea", "picklist", "multiselect", "teamMember"]}, "description": {"type": ["string", "null"]}, "options": {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"}, "value": {"type": "string"}}, "required": ["value"]}}}},
  "CustomObject": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "name": {"type": "string", "description": "API key, unique per workspace"}, "label": {"type": "string"}, "syncActive": {"type": "boolean", "description": "always false: no integration syncs objects"}, "customFields": {"type": "array", "items": ref("CustomField")}, "createdAt": ts, "updatedAt": ts}},
  "CustomObjectWrite": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,63}$"}, "label": {"type": "string", "description": "defaults to name"}, "customFields": {"type": "array", "items": ref("CustomFieldDefinition")}}},
  "CustomObjectUpdate": {"type": "object", "properties": {"label": {"type": "string"}, "customFields": {"type": "array", "items": ref("CustomFieldDefinition"), "description": "the complete list, replacing the current one"}}},
  "CustomFieldDefinition": {"type": "object", "required": ["key", "type"], "properties": {"key": {"type": "string", "description": "or `path`"}, "label": {"type": "string"}, "type": {"type": "string", "enum": ["string", "number", "boolean", "date", "textarea", "picklist", "multiselect", "teamMember"]}, "description": {"type": ["string", "null"]}, "options": {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"}, "value": {"type": "string"}}, "required": ["value"]}}}},
  "CustomObjectInstance": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "externalId": {"type": ["string", "null"]}, "name": {"type": "string"}, "customObjectId": {"type": "string"}, "customerId": {"type": ["string", "null"], "description": "the account (Vitally's name)"}, "accountId": {"type": ["string", "null"], "description": "same as customerId"}, "organizationId": {"type": ["string", "null"]}, "traits": traits, "archivedAt": {"type": ["string", "null"]}, "createdAt": ts, "updatedAt": ts}},
  "CustomObjectInstanceWrite": {"type": "object", "required": ["name"], "description": "POST: name and customerId or organizationId required; externalId makes it an upsert", "properties": {"name": {"type": "string"}, "externalId": {"type": "string"}, "customerId": {"type": ["string", "null"], "description": "the account's id or externalId"}, "accountId": {"type": ["string", "null"], "description": "same as customerId"}, "organizationId": {"type": ["string", "null"], "description": "the organization's id or externalId"}, "traits": traits}},
}
event_schema = {"type": "object", "properties": {"id": {"type": "string"}, "type": {"type": "string", "enum": ["track", "page", "screen"]}, "event": {"type": "string"}, "userId": {"type": ["string", "null"]}, "accountId": {"type": ["string", "null"]}, "organizationId": {"type": ["string", "null"]}, "timestamp": ts, "receivedAt": ts, "properties": {"type": "object"}}}
stats = {"type": "object", "additionalProperties": {"type": "object", "properties": {"total": {"type": "integer"}, "last30Days": {"type": "integer"}, "previous30Days": {"type": "integer"}, "lastSeenAt": {"type": ["string", "null"]}}}, "description": "per event name"}
group_metrics = {"type": "object", "properties": {"firstSeenTimestamp": {"type": ["string", "null"]}, "lastSeenTimestamp": {"type": ["string", "null"]}, "activeUsersLast30Days": {"type": "integer"}, "activeUsersShareLast30Days": {"type": ["number", "null"]}, "usersCount": {"type": "integer"}, "events": stats}}
user_metrics = {"type": "object", "properties": {"firstKnown": {"type": ["string", "null"]}, "lastSeenTimestamp": {"type": ["string", "null"]}, "sessions": {"type": "integer", "description": "distinct active days"}, "events": stats}}
for coll, m in [("users", user_metrics), ("accounts", group_metrics), ("organizations", group_metrics)]:
    paths[f"/resources/{coll}/{{id}}/events"] = {"parameters": [idp], "get": {"tags": ["events"], "summary": "The record's events, newest first by event time" + (" (its accounts' and its own)" if coll == "organizations" else ""), "parameters": [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/from"}], "responses": {**ok({"type": "object", "properties": {"results": {"type": "array", "items": event_schema}, "next": {"type": ["string", "null"]}}}), **errors(400, 401, 404)}}}
    paths[f"/resources/{coll}/{{id}}/metrics"] = {"parameters": [idp], "get": {"tags": ["events"], "summary": "Default usage metrics; windows are relative to now", "responses": {**ok(m), **errors(401, 404)}}}
seg_ok = ok({"type": "object", "properties": {"success": {"type": "boolean"}}})
seg_body = {"required": True, "description": "Segment's tracking-API format; gzip accepted (Content-Encoding: gzip); at most 500 KB a request, 32 KB a message", "content": {"application/json": {"schema": {"type": "object"}}}}
seg_sec = [{"basic": []}, {"bearer": []}, {}]
paths["/v1/batch"] = {"post": {"tags": ["segment"], "summary": "Segment batch: {batch: [...], writeKey?}", "security": seg_sec, "requestBody": seg_body, "responses": {**seg_ok, **errors(400, 401, 403, 413, 429)}}}
for k in ["identify", "group", "track", "page", "screen", "alias"]:
    paths[f"/v1/{k}"] = {"post": {"tags": ["segment"], "summary": f"One Segment {k} message", "security": seg_sec, "requestBody": seg_body, "responses": {**seg_ok, **errors(400, 401, 403, 413, 429)}}}
an_ok = ok({"type": "object", "properties": {"message": {"type": "string", "enum": ["Success."]}}})
for k in ["organization", "account", "user", "track", "unlink", "customobjectinstance", "batch"]:
    desc = "A bare array of at most 100 messages, each with `type`" if k == "batch" else f"Vitally analytics `{k}` message (needs `timestamp` or `messageId`)"
    paths[f"/analytics/v1/{k}"] = {"post": {"tags": ["analytics"], "summary": desc + (" (upserts the instance externalId of customObjectId, the object's id or name)" if k == "customobjectinstance" else ""), "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "array" if k == "batch" else "object"}}}}, "responses": {**an_ok, **errors(400, 401, 403, 413, 429)}}}

# ---- key roles, owners, import filters (crates/server/src/assign, routes/roles.rs) ----
key_roles_member = {"type": "array", "items": ref("KeyRoleAssignment"), "description": "who holds which key role, sorted by role"}
assignment_props = {"keyRoles": key_roles_member, "csmId": {"type": ["string", "null"], "description": "holder of the `csm` role"}, "accountExecutiveId": {"type": ["string", "null"], "description": "holder of the `accountExecutive` role"}}
assignment_write = {"keyRoles": {"type": "array", "items": ref("KeyRoleAssignmentWrite"), "description": "each listed role is given (null vacates it); roles not listed are kept"}, "csmId": {"type": ["string", "null"], "description": "team member id; null vacates"}, "accountExecutiveId": {"type": ["string", "null"], "description": "team member id; null vacates"}}
schemas["Organization"]["properties"].update({**assignment_props, "organizationOwnerId": {"type": ["string", "null"], "description": "the owning user's id"}})
schemas["Account"]["properties"].update({**assignment_props, "accountOwnerId": {"type": ["string", "null"], "description": "the owning user's id"}})
schemas["OrganizationWrite"]["properties"].update({**assignment_write, "organizationOwnerId": {"type": ["string", "null"], "description": "a user's id or externalId; null removes the owner"}})
schemas["AccountWrite"]["properties"].update({**assignment_write, "accountOwnerId": {"type": ["string", "null"], "description": "a user's id or externalId; null removes the owner"}})
schemas["KeyRoleAssignment"] = {"type": "object", "properties": {"keyRole": {"type": "string"}, "vitallyUser": {"type": "string", "description": "the team member's id"}}}
schemas["KeyRoleAssignmentWrite"] = {"type": "object", "required": ["keyRole", "vitallyUser"], "properties": {"keyRole": {"type": "string"}, "vitallyUser": {"type": ["string", "object", "null"], "description": "team member id (or {id}); null vacates the role"}}}
schemas["KeyRole"] = {"type": "object", "required": ["key", "label"], "properties": {"key": {"type": "string", "description": "a letter, then letters, digits, _ or -"}, "label": {"type": "string"}, "builtIn": {"type": "boolean", "readOnly": True}}}
schemas["RolesConfig"] = {"type": "object", "additionalProperties": False, "properties": {
    "keyRoles": {"type": "array", "items": ref("KeyRole"), "description": "custom roles (csm and accountExecutive always exist)"},
    "keyRoleTraits": {"type": "array", "items": {"type": "object", "required": ["role", "model", "trait"], "properties": {"role": {"type": "string"}, "model": {"type": "string", "enum": ["accounts", "organizations"]}, "trait": {"type": "string", "description": "holds the team member's e-mail"}}}},
    "ownerTraits": {"type": "object", "properties": {"accounts": {"type": "string"}, "organizations": {"type": "string"}}, "description": "traits holding the owning user's externalId"}}}
schemas["ImportFilter"] = {"type": "object", "properties": {"source": {"type": "string", "description": "apiKey:<id>"}, "organizations": {"type": ["object", "null"], "description": "rule (JSON filter form) over name, externalId and traits; absent: any"}, "accounts": {"type": ["object", "null"]}, "ignored": {"type": "integer", "readOnly": True, "description": "creations refused since the server started"}}}
schemas["Error"]["properties"]["error"]["enum"].insert(schemas["Error"]["properties"]["error"]["enum"].index("conflict") + 1, "import_filtered")
book_params = [{"name": "keyRoleMember", "in": "query", "schema": {"type": "string", "format": "uuid"}, "description": "only records on which this team member holds a key role (book of business)"},
               {"name": "keyRole", "in": "query", "schema": {"type": "string"}, "description": "with keyRoleMember: only this role"}]
for coll in ["organizations", "accounts"]:
    paths[f"/resources/{coll}"]["get"]["parameters"] = page_params() + book_params
    paths[f"/resources/{coll}"]["post"]["responses"].update(errors(422))
paths["/resources/users"]["get"]["parameters"] = page_params() + [dict(book_params[0], description="only users of the accounts and organizations on which this team member holds a key role"), book_params[1]]
for parent, child in [("organizations", "accounts"), ("organizations", "users"), ("accounts", "users")]:
    paths[f"/resources/{parent}/{{id}}/{child}"]["get"]["parameters"] = page_params() + [dict(book_params[0], description=f"only those of these {child} that are in this team member's book of business (as on /resources/{child})"), book_params[1]]
admin_only = "admin keys only"
paths["/resources/keyRoles"] = {
    "get": {"tags": ["keyRoles"], "summary": "The workspace's key roles, built-in first", "responses": {**ok({"type": "array", "items": ref("KeyRole")}), **errors(401)}},
    "post": {"tags": ["keyRoles"], "summary": f"Add a custom key role ({admin_only})", "requestBody": body(ref("KeyRole")), "responses": {**ok(ref("KeyRole")), **errors(400, 401, 403, 409)}}}
paths["/resources/keyRoles/{key}"] = {"parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
    "delete": {"tags": ["keyRoles"], "summary": f"Remove a custom role, its assignments and trait mappings ({admin_only})", "responses": {**ok({"type": "object"}), **errors(400, 401, 403, 404)}}}
paths["/resources/config/roles"] = {
    "get": {"tags": ["keyRoles"], "summary": "Custom key roles and trait mappings", "responses": {**ok(ref("RolesConfig")), **errors(401)}},
    "put": {"tags": ["keyRoles"], "summary": f"Replace them ({admin_only}); assignments of removed roles are deleted", "requestBody": body(ref("RolesConfig")), "responses": {**ok(ref("RolesConfig")), **errors(400, 401, 403)}}}
schemas["ConfigFile"] = {"type": "object", "additionalProperties": False, "description": "A workspace's whole configuration, declarative: what it lists is what the workspace has afterwards (steward config export/apply)", "properties": {
    "customFields": {"type": "array", "items": {"type": "object", "required": ["model", "key", "type"], "properties": {"model": {"type": "string", "enum": ["organizations", "accounts", "users"]}, "key": {"type": "string"}, "label": {"type": "string"}, "type": {"type": "string"}, "description": {"type": "string"}, "options": {"type": "array", "items": {"type": "object"}}}}},
    "roles": ref("RolesConfig"),
    "importFilters": {"type": "array", "items": ref("ImportFilter")}}}
paths["/resources/config"] = {
    "get": {"tags": ["config"], "summary": "The workspace's whole configuration as one file", "responses": {**ok(ref("ConfigFile")), **errors(401)}},
    "put": {"tags": ["config"], "summary": f"Make the workspace's configuration this file's ({admin_only}); refused whole, naming every problem, if anything is wrong", "requestBody": body(ref("ConfigFile")), "responses": {**ok(ref("ConfigFile")), **errors(400, 401, 403)}}}
for coll in ("accounts", "organizations"):
    paths[f"/resources/{coll}/{{id}}/statusHistory"] = {"parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "id or externalId"}],
        "get": {"tags": [coll], "summary": "Lifecycle status transitions, oldest first", "responses": {**ok({"type": "array", "items": {"type": "object", "properties": {"from": {"type": "string", "enum": ["subscribed", "trial", "churned", "ignored"]}, "to": {"type": "string", "enum": ["subscribed", "trial", "churned", "ignored"]}, "at": ts}}}), **errors(401, 404)}}}
paths["/resources/accounts"]["get"]["parameters"] = paths["/resources/accounts"]["get"]["parameters"] + [{"name": "status", "in": "query", "schema": {"type": "string", "enum": ["active", "churned", "activeOrChurned"]}, "description": "lifecycle status: active is subscribed or trial; activeOrChurned leaves out ignored accounts"}]
schemas["ConfigFile"]["properties"]["derivation"] = {"type": "object", "description": "formula traits, rollups, lifecycle and user deactivation rules, and timeZone (an IANA name, default UTC) for their evaluation (docs/derivation.md)"}
schemas["ConfigFile"]["properties"]["customObjects"] = {"type": "array", "description": "custom objects and their fields; an object left out is deleted unless it has live instances (then the file is refused)", "items": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {"name": {"type": "string"}, "label": {"type": "string"}, "customFields": {"type": "array", "items": {"type": "object", "required": ["key", "type"], "properties": {"key": {"type": "string"}, "label": {"type": "string"}, "type": {"type": "string"}, "description": {"type": "string"}, "options": {"type": "array", "items": {"type": "object"}}}}}}}}
paths["/resources/config/reprocess"] = {"post": {"tags": ["config"], "summary": f"Apply the current lifecycle rules to every record, churned ones included ({admin_only}); rule edits alone never un-churn anyone", "responses": {**ok({"type": "object", "properties": {"statusChanges": {"type": "integer"}}}), **errors(401, 403)}}}
paths["/resources/importFilters"] = {"get": {"tags": ["importFilters"], "summary": "Every source's import filter", "responses": {**ok({"type": "array", "items": ref("ImportFilter")}), **errors(401)}}}
src = {"name": "source", "in": "path", "required": True, "schema": {"type": "string"}, "description": "apiKey:<id> (or the key id)"}
paths["/resources/importFilters/{source}"] = {"parameters": [src],
    "get": {"tags": ["importFilters"], "summary": "One source's import filter (null rules: no filter)", "responses": {**ok(ref("ImportFilter")), **errors(401, 404)}},
    "put": {"tags": ["importFilters"], "summary": f"Set it ({admin_only})", "requestBody": body(ref("ImportFilter")), "responses": {**ok(ref("ImportFilter")), **errors(400, 401, 403, 404)}},
    "delete": {"tags": ["importFilters"], "summary": f"Remove it ({admin_only})", "responses": {**ok({"type": "object"}), **errors(401, 403, 404)}}}
paths["/resources/apiKeys"] = {"get": {"tags": ["importFilters"], "summary": f"The workspace's API keys, to name sources ({admin_only}; keys themselves are never shown)", "responses": {**ok({"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "source": {"type": "string"}, "prefix": {"type": "string"}, "label": {"type": ["string", "null"]}, "role": {"type": "string", "enum": ["admin", "write", "read"]}, "createdAt": ts}}}), **errors(401, 403)}}}

# ---- conversations and messages (crates/server/src/routes/conversations.rs) ----
participant = {"type": "object", "required": ["type", "id"], "properties": {"type": {"type": "string", "enum": ["user", "admin"]}, "id": {"type": "string", "description": "a user's id or externalId; a team member's id or e-mail (answers carry Steward ids)"}}}
schemas["Participant"] = participant
schemas["Message"] = {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "type": {"type": "string", "enum": ["inbound", "outbound"], "description": "inbound when a user sent it, outbound when a team member did"}, "externalId": {"type": "string"}, "externalUrl": {"type": ["string", "null"]}, "conversationId": {"type": "string", "format": "uuid"}, "message": {"type": "string", "description": "HTML"}, "timestamp": ts, "from": ref("Participant"), "to": {"type": "array", "items": ref("Participant")}, "cc": {"type": "array", "items": ref("Participant")}, "bcc": {"type": "array", "items": ref("Participant")}, "createdAt": ts, "updatedAt": ts}}
schemas["MessageWrite"] = {"type": "object", "required": ["externalId", "message", "from", "to"], "properties": {"externalId": {"type": "string", "description": "unique in the workspace; posting it again updates the message"}, "message": {"type": "string", "description": "HTML"}, "from": ref("Participant"), "to": {"type": "array", "items": ref("Participant")}, "cc": {"type": "array", "items": ref("Participant")}, "bcc": {"type": "array", "items": ref("Participant")}, "timestamp": {"type": "string", "format": "date-time", "description": "default: now"}, "externalUrl": {"type": ["string", "null"]}}}
schemas["Conversation"] = {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "externalId": {"type": "string"}, "externalUrl": {"type": ["string", "null"]}, "subject": {"type": ["string", "null"]}, "traits": traits, "messages": {"type": "array", "items": ref("Message"), "description": "by timestamp; left out of lists"},
    "accounts": {"type": "array", "items": {"type": "string"}, "description": "read-only: the accounts of the users among the messages' participants (their accounts now)"}, "users": {"type": "array", "items": {"type": "string"}, "description": "read-only: the users among the messages' participants"}, "admins": {"type": "array", "items": {"type": "string"}, "description": "read-only: the team members among the messages' participants"},
    "status": {"type": "string", "enum": ["open"]}, "rating": {"type": "null"}, "source": {"type": "string", "enum": ["api"]}, "createdAt": ts, "updatedAt": ts}}
schemas["ConversationWrite"] = {"type": "object", "required": ["subject", "messages"], "description": "POST also requires externalId (an existing one updates the conversation: traits merge, messages are added or updated by externalId); PUT replaces the messages", "properties": {"externalId": {"type": "string"}, "subject": {"type": "string"}, "messages": {"type": "array", "items": ref("MessageWrite")}, "traits": traits, "externalUrl": {"type": ["string", "null"]}}}
for coll in ["users", "accounts", "organizations"]:
    name = {"users": "User", "accounts": "Account", "organizations": "Organization"}[coll]
    schemas[name]["properties"].update({"lastInboundMessageTimestamp": {"type": ["string", "null"], "description": "read-only: the latest message a user sent the team" + ("" if coll == "users" else " (over the record's current users)")}, "lastOutboundMessageTimestamp": {"type": ["string", "null"], "description": "read-only: the latest message the team sent a user" + ("" if coll == "users" else " (over the record's current users)")}})
convp = {**idp, "description": "the conversation's id or externalId"}
paths["/resources/conversations"] = {
    "get": {"tags": ["conversations"], "summary": "List conversations, newest first (without messages)", "parameters": page_params(), "responses": {**ok(listing("Conversation")), **errors(400, 401)}},
    "post": {"tags": ["conversations"], "summary": "Record a conversation, or update the one with this externalId (Steward never sends mail)", "requestBody": body(ref("ConversationWrite")), "responses": {**ok(ref("Conversation")), **errors(400, 401, 403, 409, 413)}}}
paths["/resources/conversations/{id}"] = {"parameters": [convp],
    "get": {"tags": ["conversations"], "summary": "Get one, with its messages", "responses": {**ok(ref("Conversation")), **errors(401, 404)}},
    "put": {"tags": ["conversations"], "summary": "Update: subject and messages required; the messages listed replace the conversation's", "requestBody": body(ref("ConversationWrite")), "responses": {**ok(ref("Conversation")), **errors(400, 401, 403, 404, 409, 413)}},
    "delete": {"tags": ["conversations"], "summary": "Delete it and its messages", "responses": {**ok(deleted), **errors(401, 403, 404)}}}
paths["/resources/conversations/{id}/messages"] = {"parameters": [convp],
    "get": {"tags": ["conversations"], "summary": "The conversation's messages, newest first", "parameters": page_params(), "responses": {**ok(listing("Message")), **errors(400, 401, 404)}},
    "post": {"tags": ["conversations"], "summary": "Add a message, or update the conversation's message with this externalId; answers the message", "requestBody": body(ref("MessageWrite")), "responses": {**ok(ref("Message")), **errors(400, 401, 403, 404, 409, 413)}}}
paths["/resources/messages/{id}"] = {"parameters": [{**idp, "description": "the message's id or externalId"}],
    "get": {"tags": ["conversations"], "summary": "Get one message", "responses": {**ok(ref("Message")), **errors(401, 404)}},
    "delete": {"tags": ["conversations"], "summary": "Delete one message", "responses": {**ok(deleted), **errors(401, 403, 404)}}}
for parent in ["accounts", "organizations"]:
    paths[f"/resources/{parent}/{{id}}/conversations"] = {"parameters": [idp], "get": {"tags": [parent], "summary": f"Conversations with a message to or from one of the {parent[:-1]}'s users" + (" (direct or through its accounts)" if parent == "organizations" else "") + ", newest first, without messages", "parameters": page_params(), "responses": {**ok(listing("Conversation")), **errors(400, 401, 404)}}}

doc = {
  "openapi": "3.1.0",
  "info": {"title": "Steward API", "version": "0.1.0", "description": "Steward's REST API, wire-compatible with Vitally's `/resources` API. Authenticate with `Authorization: Basic base64(<key>:)`, `Basic <key>` or `Bearer <key>`. Every error is `{error, code, message, field?}`."},
  "security": sec,
  "paths": paths,
  "components": {
     "securitySchemes": {"basic": {"type": "http", "scheme": "basic", "description": "the API key as user name, empty password"}, "bearer": {"type": "http", "scheme": "bearer"}},
     "parameters": {
        "limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100}},
        "from": {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "the `next` cursor of the previous page"},
        "sortBy": {"name": "sortBy", "in": "query", "schema": {"type": "string", "enum": ["updatedAt", "createdAt"], "default": "updatedAt"}, "description": "newest first; use createdAt for complete exports while others write"}},
     "responses": {"Error": {"description": "An error", "content": {"application/json": {"schema": ref("Error")}}}},
     "schemas": schemas}
}
print(json.dumps(doc, indent=1))
