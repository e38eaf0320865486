// Fuzz target: one raw ZeroMQ frame through decodeMessage(), as the coordinator and the
// agent decode every frame they receive (protocol/messages.h). A frame that decodes must
// survive a round trip: what encodeMessage() makes of it decodes again, and encodes to the
// same frame. (Not "to an equal message": a reader may accept what the writer leaves out,
// such as LOG_DATA's `message` without an `error`.) A frame that does not decode must
// still give an ERROR reply.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "protocol/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  std::variant<aifed::Message, aifed::DecodeFailure> decoded = aifed::decodeMessage(frame);
  if (auto* failure = std::get_if<aifed::DecodeFailure>(&decoded)) {
    (void)aifed::encodeMessage(aifed::makeMessage("coordinator", "fuzz", aifed::Time{},
                                                  aifed::errorFor(*failure)));
    return 0;
  }
  const aifed::Message& message = std::get<aifed::Message>(decoded);
  std::string encoded = aifed::encodeMessage(message);
  std::variant<aifed::Message, aifed::DecodeFailure> again = aifed::decodeMessage(encoded);
  // What this side encodes, the other side must decode, to the message this side meant.
  if (auto* failure = std::get_if<aifed::DecodeFailure>(&again)) {
    std::fprintf(stderr, "encoded:\n%s\ndoes not decode: %s\n", encoded.c_str(),
                 failure->status.toString().c_str());
    abort();
  }
  std::string encoded_again = aifed::encodeMessage(std::get<aifed::Message>(again));
  if (encoded_again != encoded) {
    std::fprintf(stderr, "encoded:\n%s\nencoded again:\n%s\n", encoded.c_str(),
                 encoded_again.c_str());
    abort();
  }
  return 0;
}
