// The database transaction a store call runs in, as the layers above the store see it.
//
// Database::Read and Database::Write open one and hand it to the work they run; the work
// passes it on to store calls and never looks inside. Only stores reach the libpqxx
// transaction within (`sql()`), so no header above the store needs libpqxx:
//
//   db.Write(deadline, [&](WriteTransaction& tx) -> absl::Status {
//     COPLAN_ASSIGN_OR_RETURN(auto loaded, documents.LockWithAccess(tx, ...));
//     ...
//   });
//
// A store call that changes data takes a WriteTransaction; one that only reads takes a
// Transaction, which either kind converts to.
#pragma once

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace coplan {

class Transaction {
 public:
  explicit Transaction(pqxx::transaction_base& sql) : sql_(sql) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // For stores only.
  pqxx::transaction_base& sql() const { return sql_; }

 private:
  pqxx::transaction_base& sql_;
};

// A read-write transaction: commits when the work returns OK, rolls back otherwise.
class WriteTransaction : public Transaction {
 public:
  using Transaction::Transaction;
};

}  // namespace coplan
