-- Argo CD health check for handtracking.dev/HandTracker: the body of
-- resource.customizations.health.handtracking.dev_HandTracker in argocd-cm.
-- Argo CD runs it with gopher-lua (Lua 5.1); it also runs on Lua 5.4.
--
-- Healthy      Ready=True and status.observedGeneration == metadata.generation
-- Progressing  the operator has not observed the current generation yet, a rollout
--              (Progressing reason RollingOut), or pods still starting
-- Degraded     InvalidSpec, ReconcileError, or a pod failure reason (CrashLoopBackOff,
--              ImagePullBackOff, OOMKilled, Unschedulable, ProgressDeadlineExceeded, ...)
-- Suspended    spec.suspended: scaled to zero on purpose (Ready reason Suspended)
local hs = {}

-- Ready reasons that need a person (README: Status), not more waiting.
local failures = {
  InvalidSpec = true, ReconcileError = true, CrashLoopBackOff = true,
  ImagePullBackOff = true, ErrImagePull = true, ErrImageNeverPull = true,
  InvalidImageName = true, ImageInspectError = true, CreateContainerConfigError = true,
  CreateContainerError = true, OOMKilled = true, Unschedulable = true,
  ProgressDeadlineExceeded = true,
}

local function condition(conditions, kind)
  for _, c in ipairs(conditions or {}) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

local status = obj.status or {}
local generation = (obj.metadata or {}).generation or 0
local observed = status.observedGeneration

if observed == nil or observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local ready = condition(status.conditions, "Ready")
local degraded = condition(status.conditions, "Degraded")
local progressing = condition(status.conditions, "Progressing")

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

if ready.reason == "Suspended" then
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end

-- Degraded=True carries InvalidSpec, a pod failure reason or ProgressDeadlineExceeded,
-- also while some replicas still serve; ReconcileError is on Ready only.
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(degraded)
  return hs
end
if ready.status == "False" and failures[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

if ready.status == "True" then
  if progressing ~= nil and progressing.status == "True" and progressing.reason == "RollingOut" then
    hs.status = "Progressing"
    hs.message = describe(progressing)
    return hs
  end
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready)
return hs
