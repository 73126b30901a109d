//! SQL for WhatsApp groups.

use super::GroupView;
use crate::db::Db;
use crate::error::{internal, AppError};
use crate::on_db;
use domain::GroupCategory;

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: i64,
    name: String,
    description: String,
    chat_id: String,
    phone_number: Option<String>,
    category: String,
    work_zone: Option<String>,
    work_zone_name: Option<String>,
    active: bool,
    member_count: i64,
    rule_count: i64,
}

impl TryFrom<GroupRow> for GroupView {
    type Error = AppError;
    fn try_from(r: GroupRow) -> Result<Self, AppError> {
        Ok(GroupView {
            category: GroupCategory::parse(&r.category)
                .map_err(|e| internal("whatsapp_groups.category", &e))?,
            id: r.id,
            name: r.name,
            description: r.description,
            chat_id: r.chat_id,
            phone_number: r.phone_number,
            work_zone: r.work_zone,
            work_zone_name: r.work_zone_name,
            active: r.active,
            member_count: r.member_count,
            rule_count: r.rule_count,
        })
    }
}

/// Every group, by name, with its member and rule counts.
pub async fn list(db: &Db) -> Result<Vec<GroupView>, AppError> {
    let rows: Vec<GroupRow> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT g.id, g.name, g.description, g.chat_id, g.phone_number, g.category, g.work_zone,
                z.name AS work_zone_name, g.active,
                (SELECT COUNT(*) FROM whatsapp_group_members m WHERE m.group_id = g.id) AS member_count,
                (SELECT COUNT(*) FROM notification_group_rules r WHERE r.group_id = g.id) AS rule_count
         FROM whatsapp_groups g LEFT JOIN work_zones z ON z.code = g.work_zone
         ORDER BY g.name"
    )
    .fetch_all(pool)
    .await?
    });
    rows.into_iter().map(GroupView::try_from).collect()
}
