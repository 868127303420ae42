// Parvis: htmx for fragments, and one real-time island (the unread notifications count).
import htmx from "htmx.org";
import { startChat } from "./chat.js";
import { startNotifications } from "./notifications.js";
import { startUploads } from "./uploads.js";

window.htmx = htmx;

document.addEventListener("DOMContentLoaded", () => {
  startNotifications(document.querySelector("[data-notifications-socket]"));
  for (const form of document.querySelectorAll("form[data-upload]")) startUploads(form);
  startChat(document.querySelector("[data-chat]"));
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.dataset.copy);
      if (!target) return;
      await navigator.clipboard.writeText(target.textContent.trim());
      button.textContent = button.dataset.copied || button.textContent;
    });
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
