-- ou_summary.lua: reads the results of ou_grid.yaml (results.npz) and plots
-- the measured variance of each point against its theory sigma^2 tau / 2
-- (points on the diagonal agree), and prints the mean ratio per tau.
--
--   lamina sweep examples/sweeps/ou_grid.yaml -j 2
--   lamina run examples/sweeps/ou_summary.lua         (ou_summary.svg in its run directory)
local lam = require "lamina"
local p = lam.params { results = "examples/sweeps/runs/ou-grid/results.npz" }

local d = lam.loadz(p.results)
local n = d.variance:size()
local theory, measured = {}, {}
local ratio_by_tau, count_by_tau = {}, {}
for i = 1, n do
  theory[i], measured[i] = d.theory:get(i), d.variance:get(i)
  local tau = d.tau:get(i)
  ratio_by_tau[tau] = (ratio_by_tau[tau] or 0) + d.ratio:get(i)
  count_by_tau[tau] = (count_by_tau[tau] or 0) + 1
end
lam.plot.scatter {
  x = theory, y = measured, title = "OU stationary variance, " .. n .. " sweep points",
  xlabel = "theory sigma^2 tau / 2", ylabel = "measured variance",
}:save("ou_summary.svg")
local taus = {}
for tau in pairs(ratio_by_tau) do taus[#taus + 1] = tau end
table.sort(taus)
for _, tau in ipairs(taus) do
  print(string.format("tau = %-4g mean measured / theory = %.3f over %d points", tau,
    ratio_by_tau[tau] / count_by_tau[tau], count_by_tau[tau]))
end
return { points = n }
