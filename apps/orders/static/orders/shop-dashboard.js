// The shop's charts on the home page: money received per day and per payment method.
(function () {
  var node = document.getElementById("shop-chart-data");
  if (!node || !window.Chart) return;
  var data = JSON.parse(node.textContent);
  new Chart(document.getElementById("revenue-chart"), {
    type: "bar",
    data: {labels: data.labels, datasets: [{label: data.label, data: data.values, backgroundColor: "#198754"}]},
    options: {plugins: {legend: {display: false}}, scales: {y: {beginAtZero: true}}}
  });
  new Chart(document.getElementById("method-chart"), {
    type: "doughnut",
    data: {labels: data.method_labels, datasets: [{data: data.method_values,
      backgroundColor: ["#198754", "#0d6efd", "#6f42c1", "#d63384", "#fd7e14"]}]}
  });
})();
