// A base-map tile that fails to load (no internet, a blocked tile server) is marked finished
// by BokehJS (3.x), but the map is not told: when every tile fails, the map never reports
// itself drawn, so the page never sends "document ready" and the server keeps treating the
// page as loading (tabs made when first opened stay empty). A tile server that never answers
// (a firewall dropping the requests) holds the page the same way. This asks each map that has
// requested tiles, twice a second, whether all its tiles are finished, and tells it once they
// are; after 4 seconds it counts the tiles still on their way as finished (they are still
// drawn when they come).
(function () {
  "use strict";
  var models = window.Bokeh && window.Bokeh.Models;
  var TileRenderer = models && (typeof models.get === "function" ?
    models.get("TileRenderer") : models.TileRenderer);
  var View = TileRenderer && TileRenderer.prototype.default_view;
  if (!View || View.prototype.__coverageTilesPatched) {
    return;
  }
  var create = View.prototype._create_tile;
  View.prototype._create_tile = function () {
    var out = create.apply(this, arguments);
    var view = this;
    if (view.__coverageTilesWatch == null) {
      var checks = 0;
      view.__coverageTilesWatch = setInterval(function () {
        checks += 1;
        if (checks >= 8 && view._tiles) {
          view._tiles.forEach(function (tile) { tile.finished = true; });
        }
        var done = view.has_finished();
        if (done) {
          view.notify_finished();
        }
        if (done || checks > 20) {
          clearInterval(view.__coverageTilesWatch);
          view.__coverageTilesWatch = null;
        }
      }, 500);
    }
    return out;
  };
  View.prototype.__coverageTilesPatched = true;
})();
