// Random identifiers for resources and list items, and the rules for ids clients choose.
//
//   std::string id = NewResourceId();        // "k3x9q0c7w2mh5t8a": letter first, 16 chars
//   std::string item = NewItemId();          // "i7g2k0pz": 8 chars, unique within a list
//   if (!IsValidClientResourceId(request.plan_id())) ...
//
// Ids come from OpenSSL's CSPRNG so that names cannot be guessed or enumerated.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace coplan {

// A new id for a person, plan, grant, ...: 16 characters of [a-z0-9], a letter first.
std::string NewResourceId();
// A new id for a list item: 8 characters of [a-z0-9].
std::string NewItemId();
// A random token of `bytes` random bytes, base64url without padding.
std::string NewRandomToken(int bytes);

// What an identity provider's token rests on, carried where the server's own tokens carry
// their session id: "idp:{identity}", the link of the token's subject to the person.
// The access check of every call finds the link still there, as it finds a session
// still live, so unlinking an identity ends its tokens at once on every instance.
std::string IdentityCredential(absl::string_view identity_id);
bool IsIdentityCredential(absl::string_view credential);

// Ids a client may choose for a resource: 4 to 63 of [a-z0-9-], starting with a letter,
// not ending with '-'.
bool IsValidClientResourceId(absl::string_view id);
// Ids as they appear in resource names (generated or chosen): 1 to 63 of [a-z0-9-].
bool IsValidNameSegment(absl::string_view id);
// Ids a client may choose for a list item: 1 to 40 of [A-Za-z0-9_-].
bool IsValidItemId(absl::string_view id);

}  // namespace coplan
