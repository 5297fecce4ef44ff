#include "storage/s3/s3_xml.h"

#include <curl/curl.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <pugixml.hpp>

namespace stacksnap::storage::s3 {
namespace {

Result<pugi::xml_document> load(std::string_view xml, std::string_view what) {
  pugi::xml_document doc;
  pugi::xml_parse_result r = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r) return unavailable("malformed " + std::string(what) + " XML from the S3 server: " + r.description());
  return doc;
}

std::string text_of(const pugi::xml_node& n, const char* child) { return n.child(child).text().as_string(); }

bool bool_of(const pugi::xml_node& n, const char* child) { return std::string_view(text_of(n, child)) == "true"; }

Result<pugi::xml_node> root(const pugi::xml_document& doc, const char* name, std::string_view what) {
  pugi::xml_node n = doc.child(name);
  if (!n) {
    return unavailable("unexpected " + std::string(what) + " answer from the S3 server: no <" + name + ">");
  }
  return n;
}

Result<uint64_t> parse_u64(std::string_view s, std::string_view what) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return unavailable("bad " + std::string(what) + " '" + std::string(s) + "'");
  return v;
}

}  // namespace

Result<ListObjectsPage> parse_list_objects_v2(std::string_view xml) {
  auto doc = TRY(load(xml, "ListObjectsV2"));
  pugi::xml_node r = TRY(root(doc, "ListBucketResult", "ListObjectsV2"));
  ListObjectsPage page;
  page.truncated = bool_of(r, "IsTruncated");
  page.next_continuation_token = text_of(r, "NextContinuationToken");
  for (pugi::xml_node c : r.children("Contents")) {
    ListedObject o;
    o.key = text_of(c, "Key");
    o.size = TRY(parse_u64(text_of(c, "Size"), "object size"));
    o.modified = TRY(parse_iso8601(text_of(c, "LastModified")));
    page.objects.push_back(std::move(o));
  }
  if (page.truncated && page.next_continuation_token.empty()) {
    return unavailable("S3 listing is truncated but has no NextContinuationToken");
  }
  return page;
}

Result<ListUploadsPage> parse_list_multipart_uploads(std::string_view xml) {
  auto doc = TRY(load(xml, "ListMultipartUploads"));
  pugi::xml_node r = TRY(root(doc, "ListMultipartUploadsResult", "ListMultipartUploads"));
  ListUploadsPage page;
  page.truncated = bool_of(r, "IsTruncated");
  page.next_key_marker = text_of(r, "NextKeyMarker");
  page.next_upload_id_marker = text_of(r, "NextUploadIdMarker");
  for (pugi::xml_node u : r.children("Upload")) {
    MultipartUploadInfo info;
    info.key = text_of(u, "Key");
    info.upload_id = text_of(u, "UploadId");
    info.initiated = TRY(parse_iso8601(text_of(u, "Initiated")));
    page.uploads.push_back(std::move(info));
  }
  if (page.truncated && page.next_key_marker.empty()) {
    return unavailable("S3 upload listing is truncated but has no NextKeyMarker");
  }
  return page;
}

Result<std::string> parse_initiate_multipart(std::string_view xml) {
  auto doc = TRY(load(xml, "CreateMultipartUpload"));
  pugi::xml_node r = TRY(root(doc, "InitiateMultipartUploadResult", "CreateMultipartUpload"));
  std::string id = text_of(r, "UploadId");
  if (id.empty()) return unavailable("CreateMultipartUpload answer has no UploadId");
  return id;
}

std::optional<S3ErrorBody> parse_error_body(std::string_view xml) {
  if (xml.empty()) return std::nullopt;
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8)) return std::nullopt;
  pugi::xml_node e = doc.child("Error");
  if (!e || text_of(e, "Code").empty()) return std::nullopt;
  return S3ErrorBody{text_of(e, "Code"), text_of(e, "Message"), text_of(e, "BucketName"), text_of(e, "Endpoint"),
                     text_of(e, "Region")};
}

std::string build_complete_multipart(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  out.reserve(out.size() + etags.size() * 96);
  for (size_t i = 0; i < etags.size(); ++i) {
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>";
    for (char c : etags[i]) {  // ETags are quoted hex; escape anyway
      switch (c) {
        case '"': out += "&quot;"; break;
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        default: out.push_back(c);
      }
    }
    out += "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

Result<SystemTime> parse_iso8601(std::string_view s) {
  std::string str(s);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, consumed = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6 ||
      mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    return invalid_argument("bad timestamp '" + str + "'");
  }
  std::string_view rest = s.substr(static_cast<size_t>(consumed));
  long ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    long scale = 100;
    for (; i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i])); ++i) {
      ms += (rest[i] - '0') * scale;
      scale /= 10;
    }
    rest.remove_prefix(i);
  }
  if (rest != "Z" && rest != "+00:00") return invalid_argument("timestamp is not in UTC: '" + str + "'");
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return SystemTime(std::chrono::seconds(timegm(&tm))) + std::chrono::milliseconds(ms);
}

Result<SystemTime> parse_http_date(const std::string& s) {
  time_t t = curl_getdate(s.c_str(), nullptr);
  if (t < 0) return invalid_argument("bad HTTP date '" + s + "'");
  return SystemTime(std::chrono::seconds(t));
}

}  // namespace stacksnap::storage::s3
