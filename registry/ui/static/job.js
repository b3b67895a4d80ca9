// Live job page: follows the job's server-sent events (authorised by the session cookie, no token in script)
// and updates the progress bar, status and log tail; reloads once the job ends to show its outputs.
(function () {
  var root = document.querySelector("[data-job-events]");
  if (!root || !window.EventSource) return;
  var bar = document.getElementById("job-progress");
  var status = document.getElementById("job-status");
  var message = document.getElementById("job-message");
  var log = document.getElementById("job-log");
  var source = new EventSource(root.getAttribute("data-job-events"));
  source.addEventListener("progress", function (event) {
    var job = JSON.parse(event.data);
    bar.value = job.progress;
    bar.textContent = Math.round(job.progress * 100) + "%";
    status.textContent = job.status;
    status.className = "status-" + job.status;
    message.textContent = job.message || "";
  });
  source.addEventListener("log", function (event) {
    var line = JSON.parse(event.data);
    log.textContent += line.line + "\n";
    log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("end", function () {
    source.close();
    window.location.reload();
  });
})();
