//! `/master/templates` (admin): every key × channel at a glance, for the
//! message language chosen, saying which template words it (its own, or the
//! one it falls back to); below, the chosen one's editor with a live
//! preview on realistic sample values, the variables its type carries, the
//! shipped text and "back to default".
//!
//! The check as you type and the preview run the same domain code the server
//! saves and sends with.

use super::{list_templates, ResetTemplate, SaveTemplate};
use crate::error::{AppError, FieldError};
use crate::i18n::{locale, tr};
use crate::ui::labels::channel_label;
use crate::ui::{refused_page, ErrorNote, FieldMessage, Loading};
use domain::template::{sample_values, Escape, Template, KNOWN_VARIABLES};
use domain::views::templates::{
    check_body, default_for, documented_variables, in_effect, keys, TemplateForm, TemplateView,
    CHANNELS,
};
use domain::{Channel, Locale};
use leptos::prelude::*;

/// One (key, channel, language) of the overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pick {
    key: &'static str,
    channel: Channel,
    locale: Locale,
}

/// The template that words `pick`, and whether it is the pick's own.
fn effective(list: &[TemplateView], pick: Pick) -> Option<(&TemplateView, bool)> {
    let find = |c: Channel, l: Locale| {
        list.iter()
            .find(|t| t.key == pick.key && t.channel == c.as_str() && t.locale == l.as_str())
    };
    in_effect(pick.channel, pick.locale, find).map(|t| {
        let own = t.channel == pick.channel.as_str() && t.locale == pick.locale.as_str();
        (t, own)
    })
}

/// Where a fallback's text comes from, for messages in `editing`:
/// "WhatsApp", or "WhatsApp (Bahasa Indonesia)" when it is another
/// language's.
fn source_label(t: &TemplateView, editing: Locale) -> String {
    let channel = Channel::parse(&t.channel).map_or("?", channel_label);
    match Locale::parse(&t.locale).unwrap_or_default() {
        l if l == editing => channel.to_owned(),
        l => format!("{channel} ({})", l.name(locale())),
    }
}

#[component]
pub fn TemplatesPage() -> impl IntoView {
    let title = tr("Template pesan", "Message templates");
    if let Some(refused) = refused_page(crate::auth::Area::Templates, title) {
        return refused;
    }
    let save = ServerAction::<SaveTemplate>::new();
    let reset = ServerAction::<ResetTemplate>::new();
    let list = Resource::new(
        move || (save.version().get(), reset.version().get()),
        |_| list_templates(),
    );
    let pick = RwSignal::new(Pick {
        key: "ticket_assigned",
        channel: Channel::Whatsapp,
        locale: locale(),
    });
    // "Saved" belongs to the template it was said of.
    Effect::new(move |_| {
        pick.track();
        save.value().set(None);
    });
    view! {
        <h1>{title}</h1>
        <p class="muted">{tr(
            "Tulis {variabel} untuk isi dari sistem tiket; {variabel?} membuat barisnya hilang bila nilainya kosong. *tebal* dan _miring_ hanya tampil di WhatsApp; saluran lain menghapus tandanya. Saluran tanpa template sendiri memakai template saluran berikutnya (SMS → WhatsApp; email dan push → dalam aplikasi → WhatsApp).",
            "Write {variable} for what the ticketing system sends; {variable?} drops its line when the value is empty. *bold* and _italic_ show on WhatsApp only; other channels drop the marks. A channel without its own template uses the next channel's (SMS → WhatsApp; email and push → in the app → WhatsApp).")}</p>
        <div class="row" role="group" aria-label=tr("Bahasa pesan", "Message language")>
            {[Locale::Id, Locale::En].into_iter().map(|l| view! {
                <button type="button" data-testid=format!("locale-{}", l.as_str())
                    aria-pressed=move || (pick.get().locale == l).to_string()
                    on:click=move |_| pick.update(|p| p.locale = l)>
                    {l.name(locale())}
                </button>
            }).collect_view()}
        </div>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(list) => {
                        let list = StoredValue::new(list);
                        view! {
                            <Overview list pick/>
                            {move || {
                                let p = pick.get();
                                view! { <Editor list pick=p save reset/> }
                            }}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
    .into_any()
}

/// Keys down, channels across; each cell says what words it and picks it.
#[component]
fn Overview(list: StoredValue<Vec<TemplateView>>, pick: RwSignal<Pick>) -> impl IntoView {
    let cell = move |key: &'static str, channel: Channel| {
        let this = move || Pick {
            key,
            channel,
            locale: pick.get().locale,
        };
        let text = move || {
            list.with_value(|l| match effective(l, this()) {
                Some((_, true)) => tr("Sendiri", "Own").to_owned(),
                Some((t, false)) => format!("↳ {}", source_label(t, this().locale)),
                None => tr("Teks umum", "Generic text").to_owned(),
            })
        };
        let own = move || list.with_value(|l| matches!(effective(l, this()), Some((_, true))));
        view! {
            <td>
                <button type="button" class=move || if own() { "cell own" } else { "cell" }
                    data-testid=format!("cell-{key}-{}", channel.as_str())
                    aria-pressed=move || (pick.get() == this()).to_string()
                    on:click=move |_| { pick.set(this()); show_editor(); }>{text}</button>
            </td>
        }
        .into_any()
    };
    view! {
        <div class="table-wrap">
            <table class="templates">
                <thead><tr>
                    <th>{tr("Jenis", "Type")}</th>
                    {CHANNELS.into_iter().map(|c| view! { <th>{channel_label(c)}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {keys(locale()).into_iter().map(|(key, label)| view! {
                        <tr><th scope="row">{label}</th>
                            {CHANNELS.into_iter().map(|c| cell(key, c)).collect_view()}
                        </tr>
                    }.into_any()).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Brings the editor into view (on a phone it is below twenty rows).
fn show_editor() {
    if let Some(editor) = document().get_element_by_id("template-editor") {
        editor.scroll_into_view();
    }
}

/// The text a message would have with the sample values.
fn preview(body: &Template, channel: Channel) -> String {
    let values = sample_values();
    match channel {
        Channel::Whatsapp => body.render_lenient(&values, Escape::WhatsApp, ""),
        Channel::Sms => {
            domain::sms::from_whatsapp(&body.render_lenient(&values, Escape::WhatsApp, ""))
        }
        _ => body.render_plain(&values).unwrap_or_default(),
    }
}

#[component]
fn Editor(
    list: StoredValue<Vec<TemplateView>>,
    pick: Pick,
    save: ServerAction<SaveTemplate>,
    reset: ServerAction<ResetTemplate>,
) -> impl IntoView {
    let current = list.with_value(|l| effective(l, pick).map(|(t, own)| (t.clone(), own)));
    let own = matches!(current, Some((_, true)));
    let (subject0, body0) = current
        .as_ref()
        .map(|(t, own)| {
            let subject = if *own { t.subject.clone() } else { None };
            (subject.unwrap_or_default(), t.body.clone())
        })
        .unwrap_or_default();
    let subject = RwSignal::new(subject0);
    let body = RwSignal::new(body0);
    let confirm_reset = RwSignal::new(false);
    let shipped = default_for(pick.key, pick.channel, pick.locale);
    // The variables this type's message carries (from its WhatsApp default).
    let documented = documented_variables(pick.key);
    let checked = Memo::new(move |_| body.with(|b| check_body(b)));
    let server_errors = Signal::derive(move || match save.value().get() {
        Some(Err(AppError::Validation(v))) => v,
        _ => Vec::<FieldError>::new(),
    });
    let textarea = NodeRef::<leptos::html::Textarea>::new();
    // Puts `{name}` where the cursor is (or at the end).
    let insert = move |name: &str| {
        let token = format!("{{{name}}}");
        let at = textarea
            .get_untracked()
            .and_then(|t| t.selection_start().ok().flatten())
            .map(|n| n as usize);
        body.update(|b| {
            let chars: Vec<char> = b.chars().collect();
            let at = at.unwrap_or(chars.len()).min(chars.len());
            let byte = chars[..at].iter().map(|c| c.len_utf8()).sum::<usize>();
            b.insert_str(byte, &token);
        });
    };
    let source_note = match &current {
        Some((_, true)) => None,
        Some((t, false)) => Some(format!(
            "{} {}.",
            tr(
                "Saluran ini belum punya template sendiri; pesannya memakai template",
                "This channel has no template of its own; its messages use the template of"
            ),
            source_label(t, pick.locale)
        )),
        None => Some(
            tr(
                "Belum ada template: pesan berisi judul jenis dan data mentah.",
                "No template yet: messages carry the type's title and the raw data.",
            )
            .to_owned(),
        ),
    };
    let title = keys(locale())
        .into_iter()
        .find(|(k, _)| *k == pick.key)
        .map_or("", |(_, l)| l);
    let is_email = pick.channel == Channel::Email;
    view! {
        <form class="card form" id="template-editor" data-testid="template-editor" on:submit=move |ev| {
            ev.prevent_default();
            save.dispatch(SaveTemplate { form: TemplateForm {
                key: pick.key.into(),
                channel: pick.channel.as_str().into(),
                locale: pick.locale.as_str().into(),
                subject: subject.get_untracked(),
                body: body.get_untracked(),
            }});
        }>
            <h2>{format!("{title} · {} · {}", channel_label(pick.channel), pick.locale.name(locale()))}</h2>
            {source_note.map(|n| view! { <p class="muted" data-testid="template-source">{n}</p> })}
            {is_email.then(|| view! {
                <label for="template-subject">{tr("Subjek (kosong: jenis, prioritas dan nomor tiket)", "Subject (blank: type, priority and ticket number)")}
                    <input id="template-subject" aria-describedby="subject-error" prop:value=subject
                        aria-invalid=move || server_errors.with(|e| e.iter().any(|f| f.field == "subject")).to_string()
                        on:input=move |ev| subject.set(event_target_value(&ev))/>
                </label>
                <FieldMessage errors=server_errors field="subject"/>
            })}
            <label for="template-body">{tr("Isi pesan", "Message")}
                <textarea id="template-body" rows="12" node_ref=textarea aria-describedby="body-check"
                    aria-invalid=move || checked.with(|c| c.is_err()).to_string()
                    prop:value=body on:input=move |ev| body.set(event_target_value(&ev))></textarea>
            </label>
            <p id="body-check" class="field-error" data-testid="template-error">
                {move || checked.with(|c| c.as_ref().err().map(|e| e.message(locale())))}
            </p>
            <div class="variables">
                <p>{tr("Variabel jenis ini (klik untuk menyisipkan; ", "This type's variables (click to insert; ")}
                    <strong>{tr("tebal", "bold")}</strong>{tr(" = wajib ada di data):", " = the data must carry it):")}</p>
                <p>{documented.1.iter().map(|v| {
                    let name = v.clone();
                    let required = documented.0.contains(v);
                    view! {
                        <button type="button" class=if required { "chip required" } else { "chip" } data-testid="variable"
                            on:click=move |_| insert(&name)>{if required { view! { <strong>{v.clone()}</strong> }.into_any() } else { v.clone().into_any() }}</button>
                    }.into_any()
                }).collect_view()}</p>
                <details>
                    <summary>{tr("Semua variabel", "Every variable")}</summary>
                    <ul class="plain">
                        {KNOWN_VARIABLES.iter().map(|(name, about)| view! {
                            <li><button type="button" class="chip" on:click=move |_| insert(name)>{*name}</button>" "{*about}</li>
                        }.into_any()).collect_view()}
                    </ul>
                </details>
            </div>
            <h3>{tr("Pratinjau dengan contoh data", "Preview with sample data")}</h3>
            {is_email.then(|| view! {
                <p data-testid="subject-preview"><strong>{move || {
                    let s = subject.get();
                    Template::parse(&s).ok().and_then(|t| t.render_plain(&sample_values()).ok()).unwrap_or_default()
                }}</strong></p>
            })}
            <pre class="message preview" data-testid="template-preview">
                {move || checked.with(|c| c.as_ref().ok().map(|t| preview(t, pick.channel)))}
            </pre>
            {(pick.channel == Channel::Sms).then(|| view! {
                <p class="muted" data-testid="sms-parts">{move || checked.with(|c| c.as_ref().ok().map(|t| {
                    let parts = domain::sms::segments(&preview(t, Channel::Sms)).count;
                    format!("{} {parts}", tr("Jumlah bagian SMS (tiap bagian ditagih):", "SMS parts (each is billed):"))
                }))}</p>
            })}
            <details data-testid="template-default">
                <summary>{tr("Teks bawaan", "Default text")}</summary>
                {match shipped {
                    Some(d) => view! { <pre class="message">{d.body}</pre> }.into_any(),
                    None => view! { <p class="muted">{tr(
                        "Saluran ini tidak punya teks bawaan sendiri: tanpa template sendiri ia memakai template saluran berikutnya.",
                        "This channel ships no text of its own: without a template of its own it uses the next channel's.")}</p> }.into_any(),
                }}
            </details>
            <div class="actions">
                <button type="submit" class="primary" data-testid="save-template"
                    disabled=move || save.pending().get() || checked.with(|c| c.is_err())>{tr("Simpan", "Save")}</button>
                {own.then(|| view! {
                    <Show when=move || confirm_reset.get()
                        fallback=move || view! {
                            <button type="button" data-testid="reset-template" on:click=move |_| confirm_reset.set(true)>
                                {tr("Kembalikan ke bawaan…", "Back to default…")}</button>
                        }>
                        <button type="button" class="danger" data-testid="confirm-reset" on:click=move |_| {
                            confirm_reset.set(false);
                            reset.dispatch(ResetTemplate {
                                key: pick.key.into(),
                                channel: pick.channel.as_str().into(),
                                locale: pick.locale.as_str().into(),
                            });
                        }>{tr("Ya, buang perubahan saya", "Yes, drop my changes")}</button>
                        <button type="button" on:click=move |_| confirm_reset.set(false)>{tr("Batal", "Cancel")}</button>
                    </Show>
                })}
            </div>
            <p role="status" data-testid="template-saved">{move || match save.value().get() {
                Some(Ok(_)) => Some(tr("Tersimpan. Pesan berikutnya memakai teks ini.", "Saved. The next messages use this text.")),
                _ => None,
            }}</p>
            {move || match save.value().get() {
                Some(Err(e)) if !matches!(e, AppError::Validation(_)) => Some(view! { <ErrorNote error=e/> }),
                _ => None,
            }}
            {move || reset.value().get().and_then(Result::err).map(|e| view! { <ErrorNote error=e/> })}
        </form>
    }
}
