// Early-return helpers for absl::Status and absl::StatusOr.
//
//   COPLAN_RETURN_IF_ERROR(ValidatePlan(plan));
//   COPLAN_ASSIGN_OR_RETURN(PlanName name, ParsePlanName(request.name(), "name"));
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define COPLAN_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status coplan_status_ = (expr);          \
    if (!coplan_status_.ok()) return coplan_status_; \
  } while (false)

#define COPLAN_STATUS_CONCAT_INNER(a, b) a##b
#define COPLAN_STATUS_CONCAT(a, b) COPLAN_STATUS_CONCAT_INNER(a, b)

#define COPLAN_ASSIGN_OR_RETURN(lhs, expr) \
  COPLAN_ASSIGN_OR_RETURN_IMPL(COPLAN_STATUS_CONCAT(coplan_statusor_, __LINE__), lhs, expr)

#define COPLAN_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (!statusor.ok()) return statusor.status();           \
  lhs = std::move(statusor).value()
