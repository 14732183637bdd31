//! Departments and tags.

use serde_json::{Value, json};

use super::views::{self, department_row_field, project, tag_row_field};
use super::{Ctx, Reply, same_name, serve_count, serve_list};
use crate::store::Resource;

pub(super) fn handle(ctx: &Ctx<'_>) -> Option<Reply> {
    let spec = &ctx.shared.spec;
    Some(match ctx.op.id.as_str() {
        "getDepartmentList" => {
            let store = ctx.read();
            serve_list(
                ctx,
                store.get(Resource::Departments),
                &same_name,
                &|_, r| project(spec, "Department", r),
            )
        }
        "getSpecificDepartment" => {
            let store = ctx.read();
            match store
                .get(Resource::Departments)
                .get(&ctx.key("departmentId"))
            {
                Some(d) => Reply::ok(project(spec, "Department", d)),
                None => Reply::not_found("department", ctx.param("departmentId")),
            }
        }
        "ifAgentIsInDepartment" => {
            let store = ctx.read();
            let Some(d) = store
                .get(Resource::Departments)
                .get(&ctx.key("departmentId"))
            else {
                return Some(Reply::not_found("department", ctx.param("departmentId")));
            };
            let agent = ctx.param("agentId");
            let member = d
                .get("agent_ids")
                .and_then(Value::as_array)
                .is_some_and(|ids| ids.iter().any(|a| a.as_str() == Some(agent)));
            if member {
                Reply::ok(json!({}))
            } else {
                Reply::error(
                    http::StatusCode::NOT_FOUND,
                    format!(
                        "agent '{agent}' is not in department '{}'",
                        ctx.param("departmentId")
                    ),
                )
            }
        }
        "updateDepartmentMailAccount" => {
            let mut store = ctx.write();
            match store
                .get_mut(Resource::Departments)
                .get_mut(&ctx.key("departmentId"))
            {
                Some(d) => {
                    d["mailaccount_id"] = json!(ctx.param("mailAccountId"));
                    Reply::applied(project(spec, "Department", d))
                }
                None => Reply::not_found("department", ctx.param("departmentId")),
            }
        }
        "getDepartmentsGridList" => {
            let store = ctx.read();
            serve_list(
                ctx,
                store.get(Resource::Departments),
                &|r, c| r.get(department_row_field(c)),
                &|_, r| views::department_row(r),
            )
        }
        "getDepartmensGridListCount" => {
            let store = ctx.read();
            serve_count(ctx, store.get(Resource::Departments), &|r, c| {
                r.get(department_row_field(c))
            })
        }
        "createTag" => {
            let mut record =
                json!({ "name": "", "color": "", "background_color": "", "is_public": "Y" });
            for (k, v) in ctx.body_object() {
                if k != "id" {
                    record[k] = v;
                }
            }
            let mut store = ctx.write();
            let (_, stored) = store.get_mut(Resource::Tags).insert_new_entry(record);
            Reply::applied(project(spec, "Tag", stored))
        }
        "getTagsList" => {
            let store = ctx.read();
            serve_list(ctx, store.get(Resource::Tags), &same_name, &|_, r| {
                project(spec, "Tag", r)
            })
        }
        "getTagById" => {
            let store = ctx.read();
            match store.get(Resource::Tags).get(&ctx.key("tagId")) {
                Some(t) => Reply::ok(json!([project(spec, "Tag", t)])),
                None => Reply::not_found("tag", ctx.param("tagId")),
            }
        }
        "updateTag" => {
            let body = ctx.body_object();
            let mut store = ctx.write();
            match store.get_mut(Resource::Tags).get_mut(&ctx.key("tagId")) {
                Some(t) => {
                    for (k, v) in body {
                        if k != "id" {
                            t[k] = v;
                        }
                    }
                    Reply::applied(json!([project(spec, "Tag", t)]))
                }
                None => Reply::not_found("tag", ctx.param("tagId")),
            }
        }
        "deleteTag" => match ctx
            .write()
            .get_mut(Resource::Tags)
            .remove(&ctx.key("tagId"))
        {
            Some(_) => Reply::applied(json!({})),
            None => Reply::not_found("tag", ctx.param("tagId")),
        },
        "getTagsGridList" => {
            let store = ctx.read();
            serve_list(
                ctx,
                store.get(Resource::Tags),
                &|r, c| r.get(tag_row_field(c)),
                &|_, r| views::tag_row(r),
            )
        }
        "getTagsGridListCount" => {
            let store = ctx.read();
            serve_count(ctx, store.get(Resource::Tags), &|r, c| {
                r.get(tag_row_field(c))
            })
        }
        _ => return None,
    })
}
